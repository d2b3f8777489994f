/** Certificate extensions (RFC 5280 §4.2), each encoded as a complete Extension. */
import { createHash } from "node:crypto";
import {
  bitString,
  boolean,
  type Der,
  explicit,
  implicit,
  integer,
  octetString,
  oid,
  sequence,
} from "./der.js";
import { children, decode, readBitString } from "./der-reader.js";
import { encodeGeneralName, encodeGeneralNames, type GeneralName } from "./general-name.js";
import { OID } from "./oids.js";

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
export function extension(id: string, critical: boolean, value: Der): Der {
  return critical
    ? sequence(oid(id), boolean(true), octetString(value))
    : sequence(oid(id), octetString(value));
}

/** RFC 5280 §4.2.1.9; critical in CA certificates. */
export function basicConstraints(ca: boolean, pathLength?: number): Der {
  const fields: Der[] = [];
  if (ca) fields.push(boolean(true));
  if (ca && pathLength !== undefined) fields.push(integer(pathLength));
  return extension(OID.basicConstraints, true, sequence(...fields));
}

export const KEY_USAGES = [
  "digitalSignature",
  "nonRepudiation",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly",
] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

/** RFC 5280 §4.2.1.3, a named bit list: DER drops trailing zero bits (X.690 §11.2.2). */
export function keyUsage(usages: readonly KeyUsage[]): Der {
  const bits = usages.map((usage) => KEY_USAGES.indexOf(usage));
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  const unused = 7 - (highest % 8);
  return extension(OID.keyUsage, true, bitString(bytes, unused));
}

export const EXTENDED_KEY_USAGES = {
  serverAuth: OID.serverAuth,
  clientAuth: OID.clientAuth,
  emailProtection: OID.emailProtection,
  ocspSigning: OID.ocspSigning,
} as const;
export type ExtendedKeyUsage = keyof typeof EXTENDED_KEY_USAGES;

/** RFC 5280 §4.2.1.12 */
export const extendedKeyUsage = (purposes: readonly ExtendedKeyUsage[]): Der =>
  extension(
    OID.extKeyUsage,
    false,
    sequence(...purposes.map((purpose) => oid(EXTENDED_KEY_USAGES[purpose]))),
  );

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value. */
export function keyIdentifier(spki: Uint8Array): Buffer {
  const [, subjectPublicKey] = children(decode(spki));
  return createHash("sha1").update(readBitString(subjectPublicKey, "subjectPublicKey")).digest();
}

export const subjectKeyIdentifier = (keyId: Uint8Array): Der =>
  extension(OID.subjectKeyIdentifier, false, octetString(keyId));

/** RFC 5280 §4.2.1.1: keyIdentifier [0] IMPLICIT OCTET STRING */
export const authorityKeyIdentifier = (keyId: Uint8Array): Der =>
  extension(OID.authorityKeyIdentifier, false, sequence(implicit(0, keyId)));

/** RFC 5280 §4.2.1.6: critical when the subject is empty. */
export const subjectAltName = (names: readonly GeneralName[], critical: boolean): Der =>
  extension(OID.subjectAltName, critical, encodeGeneralNames(names));

/** RFC 5280 §4.2.2.1: caIssuers and OCSP access descriptions. */
export function authorityInfoAccess(access: { caIssuers?: string; ocsp?: string }): Der {
  const descriptions: Der[] = [];
  if (access.ocsp)
    descriptions.push(sequence(oid(OID.ocsp), encodeGeneralName({ type: "uri", value: access.ocsp })));
  if (access.caIssuers)
    descriptions.push(
      sequence(oid(OID.caIssuers), encodeGeneralName({ type: "uri", value: access.caIssuers })),
    );
  return extension(OID.authorityInfoAccess, false, sequence(...descriptions));
}

/** DistributionPoint { distributionPoint [0] { fullName [0] GeneralNames } } (RFC 5280 §4.2.1.13). */
function distributionPoints(urls: readonly string[]): Der {
  return sequence(
    ...urls.map((url) =>
      sequence(explicit(0, implicit(0, encodeGeneralName({ type: "uri", value: url }), true))),
    ),
  );
}

export const crlDistributionPoints = (urls: readonly string[]): Der =>
  extension(OID.crlDistributionPoints, false, distributionPoints(urls));

/** RFC 5280 §4.2.1.15: where delta CRLs are found. */
export const freshestCrl = (urls: readonly string[]): Der =>
  extension(OID.freshestCrl, false, distributionPoints(urls));

/** RFC 6960 §4.2.2.2.1: id-pkix-ocsp-nocheck, NULL value. */
export const ocspNoCheck = (): Der => extension(OID.ocspNoCheck, false, Buffer.from([0x05, 0x00]));
