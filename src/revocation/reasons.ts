/** CRLReason (RFC 5280 §5.3.1). */
export const REASON_CODES = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

export type ReasonName = keyof typeof REASON_CODES;

/** Reasons a caller may give when revoking an end-entity certificate. certificateHold is the
 * hold operation, removeFromCRL exists only in delta CRLs, and the CA/AA compromise reasons
 * concern CA certificates. */
export const REVOCATION_REASONS = [
  "unspecified",
  "keyCompromise",
  "affiliationChanged",
  "superseded",
  "cessationOfOperation",
  "privilegeWithdrawn",
] as const satisfies readonly ReasonName[];
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

export const reasonName = (code: number): ReasonName | undefined =>
  (Object.entries(REASON_CODES) as [ReasonName, number][]).find(([, value]) => value === code)?.[0];
