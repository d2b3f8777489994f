/**
 * Server-side key generation, for civil servants without a USB key or a browser that makes
 * one: the key is generated here (node:crypto, off the event loop), certified through a CSR
 * the service signs with it (RFC 2986 §3, proof of possession like any other request), and
 * leaves only inside a PKCS#12 or sealed under the requester's passphrase.
 */
import { generateKeyPair, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { encodeCertificationRequest } from "../pki/certification-request.js";

const generate = promisify(generateKeyPair);

/** What a requester may ask the service to generate, named as profiles name keys. */
export const SERVER_KEY_ALGORITHMS = ["ec:P-256", "ec:P-384", "rsa:2048", "rsa:3072"] as const;
export type ServerKeyAlgorithm = (typeof SERVER_KEY_ALGORITHMS)[number];

export async function generateServerKey(algorithm: ServerKeyAlgorithm): Promise<KeyObject> {
  const [kind, size] = algorithm.split(":") as ["ec" | "rsa", string];
  const pair =
    kind === "ec"
      ? await generate("ec", { namedCurve: size })
      : await generate("rsa", { modulusLength: Number(size), publicExponent: 65537 });
  return pair.privateKey;
}

/** A key and the CSR that proves it (empty subject: the CA names the requester). */
export async function generateKeyAndCsr(
  algorithm: ServerKeyAlgorithm,
): Promise<{ key: KeyObject; csr: Buffer }> {
  const key = await generateServerKey(algorithm);
  return { key, csr: encodeCertificationRequest(key) };
}
