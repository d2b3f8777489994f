/**
 * Certificate serial numbers: 16 octets from the CSPRNG, positive, first octet non-zero so
 * the DER INTEGER is always exactly 16 octets (RFC 5280 §4.1.2.2: ≤ 20 octets; CA/B BR
 * §7.1: ≥ 64 bits of CSPRNG output). 127 random bits: collisions are not a practical concern,
 * and the (issuer, serial) primary key turns one into an error rather than a duplicate.
 */
import { randomBytes } from "node:crypto";

export const SERIAL_BYTES = 16;

export function newSerial(): Buffer {
  const serial = randomBytes(SERIAL_BYTES);
  serial[0] = serial[0]! & 0x7f || 0x01;
  return serial;
}

export const serialHex = (serial: Uint8Array): string => Buffer.from(serial).toString("hex");

/** Accepts hex with optional colons and leading zero octets; returns canonical lower-case hex. */
export function normalizeSerial(text: string): string | undefined {
  const hex = text.replace(/:/g, "").toLowerCase();
  if (!/^[0-9a-f]{1,40}$/.test(hex)) return undefined;
  const even = hex.length % 2 ? `0${hex}` : hex;
  return even.replace(/^(00)+(?=[0-9a-f]{2})/, "");
}
