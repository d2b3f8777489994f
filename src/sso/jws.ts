/**
 * Compact JWS (RFC 7515 §7.1) signed through the KeyStore: jose cannot sign with a key it
 * does not hold, so the signing input is built here and the store signs it. ECDSA comes back
 * from the store as r‖s, which is exactly the JWS form (RFC 7518 §3.4); RS256 is PKCS#1 v1.5
 * (RFC 7518 §3.3). A store that holds its keys in this process signs on this thread
 * (hsm-adapters/key-store.ts SynchronousSigner). Verification is jose's (src/sso/token-verifier.ts).
 */
import { canSignNow, type KeyStore, type SignatureAlgorithm } from "../../hsm-adapters/key-store.js";

export type JwsAlgorithm = "ES256" | "RS256";

export const STORE_ALGORITHM: Readonly<Record<JwsAlgorithm, SignatureAlgorithm>> = {
  ES256: "ecdsa-sha256",
  RS256: "rsa-pkcs1-sha256",
};

export interface SigningKey {
  readonly kid: string;
  readonly alg: JwsAlgorithm;
  readonly label: string;
}

const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString("base64url");

/** Signs `payload` as a compact JWS with header { alg, kid, typ }. */
export async function signJwt(
  keyStore: KeyStore,
  key: SigningKey,
  typ: string,
  payload: object,
): Promise<string> {
  const signingInput = `${encode({ alg: key.alg, kid: key.kid, typ })}.${encode(payload)}`;
  const request = { label: key.label, algorithm: STORE_ALGORITHM[key.alg], data: Buffer.from(signingInput) };
  // On this thread where the store can (SynchronousSigner): one signature per token request.
  const signature =
    (canSignNow(keyStore) ? keyStore.signNow(request) : undefined) ?? (await keyStore.sign(request));
  return `${signingInput}.${Buffer.from(signature).toString("base64url")}`;
}
