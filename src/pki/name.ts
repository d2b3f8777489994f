/**
 * X.501 Names (RFC 5280 §4.1.2.4): encoding, parsing, and RFC 4514 string form.
 * New names are written as UTF8String, except countryName and serialNumber
 * (PrintableString, X.520) and emailAddress (IA5String, PKCS#9).
 */
import { type Der, ia5String, oid, printableString, sequence, setOf, utf8String } from "./der.js";
import { DerError, decode, type Element, readOid, readString, sequenceOf } from "./der-reader.js";
import { ATTRIBUTE_NAMES, OID } from "./oids.js";

export interface Attribute {
  readonly type: string;
  readonly value: string;
}

export type Name = readonly Attribute[];

const MAX_ATTRIBUTE_LENGTH = 1024;

function encodeValue(attribute: Attribute): Der {
  if (attribute.type === OID.countryName || attribute.type === OID.serialNumber)
    return printableString(attribute.value);
  if (attribute.type === OID.emailAddress) return ia5String(attribute.value);
  return utf8String(attribute.value);
}

/** Name ::= SEQUENCE OF RelativeDistinguishedName, one attribute per RDN. */
export function encodeName(name: Name): Der {
  return sequence(...name.map((attribute) => setOf(sequence(oid(attribute.type), encodeValue(attribute)))));
}

/** Parses a Name, validating every string's character set; multi-valued RDNs are flattened. */
export function parseName(element: Element | undefined, what: string): Name {
  const rdns = sequenceOf(element, what, 0, 64);
  const result: Attribute[] = [];
  for (const rdn of rdns) {
    for (const atv of sequenceOf(rdn, `${what} RDN`, 1, 8, 0x31)) {
      const [typeElement, valueElement] = sequenceOf(atv, `${what} attribute`, 2, 2);
      const type = readOid(typeElement, `${what} attribute type`);
      const value = readString(valueElement, `${what} ${ATTRIBUTE_NAMES[type] ?? type}`);
      if (value.length > MAX_ATTRIBUTE_LENGTH)
        throw new DerError(
          `${what} ${ATTRIBUTE_NAMES[type] ?? type} is longer than ${MAX_ATTRIBUTE_LENGTH} characters`,
        );
      result.push({ type, value });
    }
  }
  return result;
}

/** Parses the Name in a DER buffer. */
export const parseNameDer = (der: Uint8Array): Name => parseName(decode(der), "name");

function escapeValue(value: string): string {
  // RFC 4514 §2.4
  return value
    .replace(/[\\",+;<>=]/g, "\\$&")
    .replace(/^[ #]/, "\\$&")
    .replace(/ $/, "\\ ");
}

/** RFC 4514 string form: most specific RDN first. */
export function formatName(name: Name): string {
  return [...name]
    .reverse()
    .map(
      (attribute) => `${ATTRIBUTE_NAMES[attribute.type] ?? attribute.type}=${escapeValue(attribute.value)}`,
    )
    .join(",");
}

export function commonNameOf(name: Name): string | undefined {
  return name.findLast((attribute) => attribute.type === OID.commonName)?.value;
}

/**
 * Why a text may not become part of a name, or undefined: control characters (and NUL, which
 * PostgreSQL text cannot hold), unpaired surrogates (not encodable as UTF-8, RFC 3629 §3), and
 * format characters such as bidirectional overrides (U+202E) and zero-width characters, which
 * make a name display as something other than what it is (Unicode TR 36 §2).
 */
export function nameTextProblem(text: string): string | undefined {
  if (/[\p{Cc}\p{Cs}]/u.test(text)) return "contains a control character or an unpaired surrogate";
  if (/\p{Cf}/u.test(text))
    return "contains an invisible formatting character (such as a bidirectional override)";
  return undefined;
}
