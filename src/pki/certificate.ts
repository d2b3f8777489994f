/** TBSCertificate encoding (RFC 5280 §4.1). */
import { type Der, explicit, integer, sequence, time, unsignedInteger } from "./der.js";

export interface TbsCertificate {
  /** Positive serial number, big-endian magnitude (RFC 5280 §4.1.2.2: at most 20 octets). */
  readonly serial: Uint8Array;
  readonly signatureAlgorithm: Der;
  readonly issuer: Der;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subject: Der;
  readonly subjectPublicKeyInfo: Uint8Array;
  readonly extensions: readonly Der[];
}

export function encodeTbsCertificate(tbs: TbsCertificate): Der {
  return sequence(
    explicit(0, integer(2)), // version v3 (RFC 5280 §4.1.2.1)
    unsignedInteger(tbs.serial),
    tbs.signatureAlgorithm,
    tbs.issuer,
    sequence(time(tbs.notBefore), time(tbs.notAfter)), // RFC 5280 §4.1.2.5
    tbs.subject,
    tbs.subjectPublicKeyInfo,
    explicit(3, sequence(...tbs.extensions)),
  );
}
