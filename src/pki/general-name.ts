/**
 * GeneralName (RFC 5280 §4.2.1.6) for subjectAltName: the four forms the profiles use,
 * with syntax checks: DNS names are LDH (RFC 1034 §3.5, RFC 5280 §4.2.1.6 "preferred name
 * syntax"), IP addresses are 4 or 16 octets, emails are addr-spec with an ASCII domain.
 */
import { isIP } from "node:net";
import { type Der, implicit, sequence } from "./der.js";
import { children, DerError, type Element, TAG } from "./der-reader.js";

export type GeneralNameType = "dns" | "ip" | "email" | "uri";

export interface GeneralName {
  readonly type: GeneralNameType;
  readonly value: string;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Why a DNS name is not acceptable, or undefined when it is. */
export function dnsNameProblem(name: string, allowWildcard: boolean): string | undefined {
  if (name.length === 0 || name.length > 253) return "must be 1 to 253 characters";
  const labels = name.split(".");
  if (labels.length < 2) return "must have at least two labels";
  for (const [index, label] of labels.entries()) {
    if (index === 0 && label === "*") {
      if (!allowWildcard) return "wildcards are not allowed by this profile";
      if (labels.length < 3) return "a wildcard must be followed by at least two labels";
      continue;
    }
    if (!LABEL.test(label))
      return `label "${label}" is not letters, digits and inner hyphens (RFC 1034 §3.5)`;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return "the top-level label must not be numeric";
  return undefined;
}

const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}$/;

export function emailProblem(email: string): string | undefined {
  if (!EMAIL.test(email)) return "is not an ASCII addr-spec (RFC 5321 §4.1.2)";
  const domain = email.slice(email.indexOf("@") + 1).toLowerCase();
  return dnsNameProblem(domain, false);
}

function ipToBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split(".").map(Number));
  const [head, tail] = ip.includes("::") ? ip.split("::") : [ip, undefined];
  const headParts = head ? head.split(":") : [];
  const tailParts = tail ? tail.split(":") : [];
  const last = (tailParts.length ? tailParts : headParts).at(-1) ?? "";
  const embedded = isIP(last) === 4 ? ipToBytes(last) : undefined;
  if (embedded) (tailParts.length ? tailParts : headParts).pop();
  const groups = 8 - (embedded ? 2 : 0);
  const zeros = tail === undefined ? 0 : groups - headParts.length - tailParts.length;
  const words = [...headParts, ...Array(zeros).fill("0"), ...tailParts].map((part) =>
    Number.parseInt(part, 16),
  );
  const bytes = Buffer.alloc(16);
  for (const [i, word] of words.entries()) bytes.writeUInt16BE(word, i * 2);
  if (embedded) embedded.copy(bytes, 12);
  return bytes;
}

/** Text form of an address; IPv6 per RFC 5952 §4.2: the longest run (≥ 2) of zero groups becomes "::". */
function bytesToIp(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join(".");
  const words = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = (from: number, to: number) =>
    words
      .slice(from, to)
      .map((word) => word.toString(16))
      .join(":");
  if (best.length < 2) return hex(0, 8);
  return `${hex(0, best.start)}::${hex(best.start + best.length, 8)}`;
}

/** Canonical text form: DNS names lower-cased, IPv6 compressed. */
export function normalizeGeneralName(name: GeneralName): GeneralName {
  switch (name.type) {
    case "dns":
      return { type: "dns", value: name.value.toLowerCase() };
    case "ip":
      if (!isIP(name.value)) return name;
      return { type: "ip", value: bytesToIp(ipToBytes(name.value)) };
    default:
      return name;
  }
}

export function encodeGeneralName(name: GeneralName): Der {
  switch (name.type) {
    case "email":
      return implicit(1, Buffer.from(name.value, "ascii"));
    case "dns":
      return implicit(2, Buffer.from(name.value, "ascii"));
    case "uri":
      return implicit(6, Buffer.from(name.value, "ascii"));
    case "ip":
      return implicit(7, ipToBytes(name.value));
  }
}

export const encodeGeneralNames = (names: readonly GeneralName[]): Der =>
  sequence(...names.map(encodeGeneralName));

function ascii(element: Element, what: string): string {
  if (element.content.some((byte) => byte < 0x20 || byte > 0x7e))
    throw new DerError(`${what} is not printable ASCII`);
  return element.content.toString("latin1");
}

/** Parses GeneralNames; forms other than the four above are refused by name. */
export function parseGeneralNames(element: Element, maxNames: number): GeneralName[] {
  if (element.tag !== TAG.SEQUENCE) throw new DerError("subjectAltName is not a SEQUENCE");
  const items = children(element);
  if (items.length === 0) throw new DerError("subjectAltName is empty (RFC 5280 §4.2.1.6)");
  if (items.length > maxNames)
    throw new DerError(`subjectAltName has ${items.length} names, at most ${maxNames} are allowed`);
  return items.map((item) => {
    switch (item.tag) {
      case 0x81:
        return { type: "email" as const, value: ascii(item, "rfc822Name") };
      case 0x82:
        return { type: "dns" as const, value: ascii(item, "dNSName") };
      case 0x86:
        return { type: "uri" as const, value: ascii(item, "uniformResourceIdentifier") };
      case 0x87:
        if (item.content.length !== 4 && item.content.length !== 16)
          throw new DerError(`iPAddress has ${item.content.length} octets, expected 4 or 16`);
        return { type: "ip" as const, value: bytesToIp(item.content) };
      default:
        throw new DerError(
          `subjectAltName form [${item.tag & 0x1f}] is not supported (only DNS, IP, email, URI)`,
        );
    }
  });
}
