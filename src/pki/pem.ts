/** PEM armour (RFC 7468): strict parsing of one labelled block, and encoding. */
export class PemError extends Error {
  override readonly name = "PemError";
}

const BLOCK =
  /^-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n\t ]*?)\r?\n?-----END ([A-Z0-9 ]+)-----\s*$/;

export function isPem(input: Uint8Array | string): boolean {
  const head =
    typeof input === "string" ? input.slice(0, 64) : Buffer.from(input.subarray(0, 64)).toString("latin1");
  return head.trimStart().startsWith("-----BEGIN ");
}

/** Where the first pre-encapsulation boundary starts a line, or -1. */
export function preEncapsulationBoundary(text: string): number {
  return /^-----BEGIN /m.exec(text)?.index ?? -1;
}

/** Decodes one PEM block whose label is one of `labels` (RFC 7468 §2). */
export function decodePem(text: string, labels: readonly string[]): { label: string; der: Buffer } {
  // RFC 7468 §2: "Data before the encapsulation boundaries are permitted, and parsers MUST NOT
  // malfunction when processing such data" (certtool, `openssl req -text` write a description first).
  const start = preEncapsulationBoundary(text);
  const trimmed = (start > 0 ? text.slice(start) : text).trim();
  const match = BLOCK.exec(trimmed);
  if (!match)
    throw new PemError("PEM armour is malformed: expected one -----BEGIN …----- … -----END …----- block");
  const [, begin, body, end] = match;
  if (begin !== end) throw new PemError(`PEM labels differ: BEGIN ${begin} but END ${end}`);
  if (!labels.includes(begin!))
    throw new PemError(
      `PEM label is "${begin}", expected ${labels.map((label) => `"${label}"`).join(" or ")}`,
    );
  const base64 = body!.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0)
    throw new PemError("PEM body is not valid base64");
  const der = Buffer.from(base64, "base64");
  if (der.length === 0) throw new PemError("PEM body is empty");
  return { label: begin!, der };
}

export function encodePem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString("base64");
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
