/**
 * The CA certificates this service holds (roots and issuing CAs), their chains, their
 * public URLs, and a signer for each. Loaded from the database once and reloaded on change.
 */
import type { Queryable } from "../../db/database.js";
import { type IssuerRow, listIssuers } from "../../db/stores/issuers.js";
import type { KeyAlgorithm, KeyStore } from "../../hsm-adapters/key-store.js";
import { notFound } from "../errors.js";
import { defaultSignatureAlgorithm } from "../pki/algorithms.js";
import { encodePem } from "../pki/pem.js";
import { X509Signer } from "../pki/signer.js";

export interface Issuer {
  readonly row: IssuerRow;
  readonly signer: X509Signer;
  /** This CA's certificate followed by its ancestors' up to the root. */
  readonly chain: readonly Buffer[];
  readonly chainPem: string;
}

/** The URLs placed in certificates (RFC 5280 §4.2.2.1 AIA, §4.2.1.13 CDP). */
export function issuerUrls(publicBaseUrl: string, issuerId: string) {
  return {
    certificate: `${publicBaseUrl}/ca/${issuerId}.crt`,
    chain: `${publicBaseUrl}/ca/${issuerId}.pem`,
    ocsp: `${publicBaseUrl}/ocsp/${issuerId}`,
    crl: `${publicBaseUrl}/crl/${issuerId}.crl`,
    deltaCrl: `${publicBaseUrl}/crl/${issuerId}-delta.crl`,
  };
}

export class IssuerRegistry {
  private byId = new Map<string, Issuer>();
  private readonly reloaded = new Set<() => void>();

  constructor(
    private readonly db: Queryable,
    private readonly keyStore: KeyStore,
  ) {}

  async reload(): Promise<void> {
    const rows = await listIssuers(this.db);
    const rowsById = new Map(rows.map((row) => [row.id, row]));
    const next = new Map<string, Issuer>();
    for (const row of rows) {
      const chain: Buffer[] = [];
      for (
        let at: IssuerRow | undefined = row;
        at;
        at = at.parent_id ? rowsById.get(at.parent_id) : undefined
      ) {
        chain.push(at.certificate);
        if (chain.length > 8) break;
      }
      const signer = new X509Signer(
        this.keyStore,
        row.key_label,
        defaultSignatureAlgorithm(row.key_algorithm as KeyAlgorithm),
      );
      next.set(row.id, {
        row,
        signer,
        chain,
        chainPem: chain.map((der) => encodePem("CERTIFICATE", der)).join(""),
      });
    }
    this.byId = next;
    for (const listener of this.reloaded) listener();
  }

  /** Calls `listener` after each reload (the mTLS listener's list of client CAs); returns how to stop. */
  onReload(listener: () => void): () => void {
    this.reloaded.add(listener);
    return () => this.reloaded.delete(listener);
  }

  all(): Issuer[] {
    return [...this.byId.values()];
  }

  get(id: string): Issuer {
    const issuer = this.byId.get(id);
    if (!issuer) throw notFound(`issuer "${id}"`);
    return issuer;
  }

  find(id: string): Issuer | undefined {
    return this.byId.get(id);
  }

  /** The issuing CA used when a request names none: the newest active one. */
  defaultIssuing(): Issuer | undefined {
    return this.all()
      .filter((issuer) => issuer.row.kind === "issuing" && issuer.row.status === "active")
      .at(-1);
  }
}
