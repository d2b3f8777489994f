/**
 * The mTLS listener's own certificate and key: the operator's PEM files (CA_TLS_CERT,
 * CA_TLS_KEY), or else a development certificate issued at each start by our own issuing CA
 * (profile tls-server, audited like any issuance) for a P-256 key generated in this process.
 * That key exists only in this process's memory: it is never written to disk, to the database
 * or to the key store, so it cannot be reused after a restart, and each start issues anew.
 */
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import type { Actor } from "../auth/principal.js";
import { ConfigError, type MtlsConfig } from "../config.js";
import type { ServiceContext } from "../context.js";
import { ServiceError } from "../errors.js";
import { encodeCertificationRequest } from "../pki/certification-request.js";
import type { GeneralName } from "../pki/general-name.js";
import { encodePem } from "../pki/pem.js";
import { ROOT_ORG_UNIT } from "../setup.js";

export interface ServerCredentials {
  /** PEM private key (in memory only). */
  readonly key: string;
  /** PEM: the server certificate first, then the CA certificates up to (not including) the root. */
  readonly certificateChain: string;
  /** For the start-up log: where the certificate comes from. */
  readonly description: string;
}

export const DEVELOPMENT_CERTIFICATE_ACTOR: Actor = { audit: { actor: "system:mtls-listener" } };

const WILDCARD_ADDRESSES = new Set(["", "0.0.0.0", "::", "[::]"]);

/** The names clients reach the listener by: the public URL's host, and the listen address if specific. */
export function developmentNames(mtls: MtlsConfig): GeneralName[] {
  const hosts = [new URL(mtls.publicUrl).hostname.replace(/^\[|\]$/g, ""), mtls.host];
  const names = new Map<string, GeneralName>();
  for (const host of hosts)
    if (!WILDCARD_ADDRESSES.has(host))
      names.set(host.toLowerCase(), { type: isIP(host) ? "ip" : "dns", value: host.toLowerCase() });
  return [...names.values()];
}

async function fromFiles(certFile: string, keyFile: string): Promise<ServerCredentials> {
  const read = (file: string, variable: string) =>
    readFile(file, "utf8").catch((error: Error) => {
      throw new ConfigError(`${variable}: cannot read ${file}: ${error.message}`);
    });
  const [certificateChain, key] = await Promise.all([
    read(certFile, "CA_TLS_CERT"),
    read(keyFile, "CA_TLS_KEY"),
  ]);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificateChain);
  } catch (error) {
    throw new ConfigError(`CA_TLS_CERT: ${certFile} holds no PEM certificate (${(error as Error).message})`);
  }
  return {
    key,
    certificateChain,
    description: `certificate "${certificate.subject.replace(/\n/g, ", ")}" from ${certFile}`,
  };
}

async function development(context: ServiceContext, mtls: MtlsConfig): Promise<ServerCredentials> {
  const key = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const names = developmentNames(mtls);
  let issued: Awaited<ReturnType<ServiceContext["ca"]["issue"]>>;
  try {
    issued = await context.ca.issue(DEVELOPMENT_CERTIFICATE_ACTOR, {
      csr: encodeCertificationRequest(key),
      profile: "tls-server",
      subject: { orgUnit: ROOT_ORG_UNIT },
      subjectAltNames: names,
    });
  } catch (error) {
    if (error instanceof ServiceError && error.status === 400)
      throw new ConfigError(
        `cannot issue the mTLS listener's development certificate for ${names.map((name) => name.value).join(", ") || "no name"} (${error.message}): set CA_MTLS_PUBLIC_URL to an IP address or a DNS name, or give CA_TLS_CERT and CA_TLS_KEY`,
      );
    throw error;
  }
  const { record, issuer } = issued;
  const intermediates = issuer.chain.slice(0, -1); // RFC 8446 §4.4.2: the root may be left out
  return {
    key: key.export({ format: "pem", type: "pkcs8" }).toString(),
    certificateChain: [record.der, ...intermediates].map((der) => encodePem("CERTIFICATE", der)).join(""),
    description: `development certificate ${record.serial} for ${names.map((name) => name.value).join(", ")}, issued by "${issuer.row.id}"; its key is in memory only`,
  };
}

export function serverCredentials(context: ServiceContext, mtls: MtlsConfig): Promise<ServerCredentials> {
  return mtls.certFile && mtls.keyFile ? fromFiles(mtls.certFile, mtls.keyFile) : development(context, mtls);
}
