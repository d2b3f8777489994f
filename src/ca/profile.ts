/**
 * Certificate profiles are data (stored in the profiles table, seeded from
 * default-profiles.json). This module is their schema and the rules they express.
 */
import { Ajv, type ErrorObject } from "ajv";
import type { Role } from "../../db/stores/principals.js";
import { EXTENDED_KEY_USAGES, type ExtendedKeyUsage, KEY_USAGES, type KeyUsage } from "../pki/extensions.js";
import type { GeneralNameType } from "../pki/general-name.js";
import type { PublicKeyDescription } from "../pki/public-key.js";

type KeyKind = PublicKeyDescription["kind"];

export interface Profile {
  readonly name: string;
  readonly description: string;
  readonly validityDays: number;
  /** Allowed keys as "ec:P-256", "rsa:2048", "ed25519". */
  readonly keys: readonly string[];
  /** Key usages: one list for every key kind, or one per kind (RSA key transport vs EC key agreement). */
  readonly keyUsage: readonly KeyUsage[] | Readonly<Partial<Record<KeyKind, readonly KeyUsage[]>>>;
  readonly extendedKeyUsage: readonly ExtendedKeyUsage[];
  /** [min, max] count per subjectAltName form; a form not listed is not allowed. */
  readonly subjectAltNames: Readonly<Partial<Record<GeneralNameType, readonly [number, number]>>>;
  readonly requireSubjectAltName: boolean;
  /** CA/B BR §7.1.4.3: the commonName, if present, must be one of the SAN values. */
  readonly commonNameInSubjectAltNames: boolean;
  readonly allowWildcards: boolean;
  readonly ocspNoCheck?: boolean;
  /** Roles that may request this profile. */
  readonly requesters: readonly Role[];
  /** Whether enrolment requests are approved automatically or wait for an RA operator. */
  readonly approval: "auto" | "ra-operator";
}

const usageList = { type: "array", items: { enum: KEY_USAGES }, minItems: 1, uniqueItems: true } as const;
const range = {
  type: "array",
  items: { type: "integer", minimum: 0, maximum: 1000 },
  minItems: 2,
  maxItems: 2,
} as const;

export const PROFILE_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: [
    "description",
    "validityDays",
    "keys",
    "keyUsage",
    "extendedKeyUsage",
    "subjectAltNames",
    "requireSubjectAltName",
    "commonNameInSubjectAltNames",
    "allowWildcards",
    "requesters",
    "approval",
  ],
  properties: {
    description: { type: "string", minLength: 1, maxLength: 500 },
    validityDays: { type: "integer", minimum: 1, maximum: 3650 },
    keys: {
      type: "array",
      minItems: 1,
      uniqueItems: true,
      items: { type: "string", pattern: "^(ec:P-(256|384)|rsa:(2048|3072|4096)|ed25519)$" },
    },
    keyUsage: {
      oneOf: [
        usageList,
        {
          type: "object",
          additionalProperties: false,
          minProperties: 1,
          properties: { rsa: usageList, ec: usageList, ed25519: usageList },
        },
      ],
    },
    extendedKeyUsage: { type: "array", uniqueItems: true, items: { enum: Object.keys(EXTENDED_KEY_USAGES) } },
    subjectAltNames: {
      type: "object",
      additionalProperties: false,
      properties: { dns: range, ip: range, email: range, uri: range },
    },
    requireSubjectAltName: { type: "boolean" },
    commonNameInSubjectAltNames: { type: "boolean" },
    allowWildcards: { type: "boolean" },
    ocspNoCheck: { type: "boolean" },
    requesters: {
      type: "array",
      minItems: 1,
      uniqueItems: true,
      items: { enum: ["security-admin", "ra-operator", "auditor", "subscriber"] },
    },
    approval: { enum: ["auto", "ra-operator"] },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: true }).compile(PROFILE_SCHEMA);

/** What the profiles table's CHECK allows as a name (db/migrations/001_ca_core.sql). */
export const PROFILE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export class ProfileDefinitionError extends Error {
  override readonly name = "ProfileDefinitionError";
}

const describeError = (error: ErrorObject): string => {
  const at = error.instancePath || "/";
  if (error.keyword === "additionalProperties")
    return `${at} has unknown field "${(error.params as { additionalProperty: string }).additionalProperty}"`;
  if (error.keyword === "enum")
    return `${at} must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.join(", ")}`;
  return `${at} ${error.message}`;
};

/**
 * The rules a definition must follow beyond its shape: what the schema cannot say. An OCSP
 * signing certificate answers for the whole CA (RFC 6960 §4.2.2.2), so only security admins
 * may request one; id-pkix-ocsp-nocheck belongs in OCSP signing certificates only (RFC 6960
 * §4.2.2.2.1); a key the profile accepts must get key usages; a name count range is [min, max].
 */
function ruleProblems(profile: Omit<Profile, "name">): string[] {
  const problems: string[] = [];
  const ocspSigning = profile.extendedKeyUsage.includes("ocspSigning");
  if ((ocspSigning || profile.ocspNoCheck) && profile.requesters.some((role) => role !== "security-admin"))
    problems.push("/requesters must be only security-admin for an OCSP signing profile (RFC 6960 §4.2.2.2)");
  if (profile.ocspNoCheck && !ocspSigning)
    problems.push("/ocspNoCheck needs the ocspSigning extended key usage (RFC 6960 §4.2.2.2.1)");
  if (!Array.isArray(profile.keyUsage)) {
    const byKind = profile.keyUsage as Partial<Record<KeyKind, readonly KeyUsage[]>>;
    for (const kind of new Set(profile.keys.map((key) => key.split(":")[0] as KeyKind)))
      if (!byKind[kind]) problems.push(`/keyUsage has no key usages for the ${kind} keys of /keys`);
  }
  for (const [form, limits] of Object.entries(profile.subjectAltNames))
    if (limits && limits[0] > limits[1])
      problems.push(`/subjectAltNames/${form} must be [min, max] with min <= max`);
  return problems;
}

/** Validates a stored or submitted definition and returns the typed profile. */
export function parseProfile(name: string, definition: unknown): Profile {
  if (!PROFILE_NAME.test(name))
    throw new ProfileDefinitionError(
      `profile name "${name}" must be 1 to 63 lower-case letters, digits or "-", not starting with "-"`,
    );
  if (!validate(definition)) {
    const problems = (validate.errors ?? []).map(describeError).join("; ");
    throw new ProfileDefinitionError(`profile "${name}" is invalid: ${problems}`);
  }
  const checked = definition as Omit<Profile, "name">;
  const problems = ruleProblems(checked);
  if (problems.length > 0)
    throw new ProfileDefinitionError(`profile "${name}" is invalid: ${problems.join("; ")}`);
  return { name, ...checked };
}

/** The key usages this profile gives a key of this kind (undefined: the kind is not served). */
export function keyUsagesFor(profile: Profile, kind: KeyKind): readonly KeyUsage[] | undefined {
  return Array.isArray(profile.keyUsage)
    ? (profile.keyUsage as readonly KeyUsage[])
    : (profile.keyUsage as Partial<Record<KeyKind, readonly KeyUsage[]>>)[kind];
}
