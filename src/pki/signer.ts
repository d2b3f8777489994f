/**
 * Signing X.509 structures through the KeyStore. Certificates, CRLs and OCSP responses
 * share one outer shape: SEQUENCE { tbs, signatureAlgorithm, signature BIT STRING }.
 */
import type { KeyStore, SignatureAlgorithm } from "../../hsm-adapters/key-store.js";
import { algorithmIdentifier } from "./algorithms.js";
import { bitString, type Der, sequence } from "./der.js";
import { rawToDerSignature } from "./ecdsa-signature.js";

export class X509Signer {
  readonly algorithmIdentifier: Der;

  constructor(
    private readonly keyStore: KeyStore,
    readonly keyLabel: string,
    readonly algorithm: SignatureAlgorithm,
  ) {
    this.algorithmIdentifier = algorithmIdentifier(algorithm);
  }

  /** The signature value as X.509 carries it (ECDSA as DER Ecdsa-Sig-Value). */
  async signatureValue(tbs: Uint8Array): Promise<Buffer> {
    const signature = await this.keyStore.sign({
      label: this.keyLabel,
      algorithm: this.algorithm,
      data: tbs,
    });
    return this.algorithm.startsWith("ecdsa-") ? rawToDerSignature(signature) : Buffer.from(signature);
  }

  /** Signs `tbs` and wraps it as SEQUENCE { tbs, algorithm, BIT STRING signature }. */
  async signStructure(tbs: Der): Promise<Der> {
    return sequence(tbs, this.algorithmIdentifier, bitString(await this.signatureValue(tbs)));
  }
}
