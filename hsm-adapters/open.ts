/**
 * Opens a key store from its URI. Each scheme maps to one adapter, so the core never asks
 * which kind of store it holds:
 *   software:./data/keys                      (keys wrapped under CA_KEK or a KEK file)
 *   pkcs11:token=gov-ca?module-path=…&pin-source=file:…   (RFC 7512, see pkcs11/uri.ts)
 */
import { type KeyStore, KeyStoreError } from "./key-store.js";
import { Pkcs11KeyStore } from "./pkcs11/key-store.js";
import { parsePkcs11Uri } from "./pkcs11/uri.js";
import { SoftwareKeyStore } from "./software.js";

export interface KeyStoreEnvironment {
  /** CA_KEK for the software store. */
  readonly kek?: string | undefined;
}

type Opener = (rest: string, environment: KeyStoreEnvironment) => Promise<KeyStore>;

const OPENERS: Record<string, Opener> = {
  software: (path, environment) => SoftwareKeyStore.open(path, environment.kek),
  pkcs11: (rest) => Pkcs11KeyStore.open(parsePkcs11Uri(rest)),
};

export async function openKeyStore(uri: string, environment: KeyStoreEnvironment = {}): Promise<KeyStore> {
  const colon = uri.indexOf(":");
  const scheme = colon > 0 ? uri.slice(0, colon) : "";
  const opener = OPENERS[scheme];
  if (!opener)
    throw new KeyStoreError(
      "bad-configuration",
      `key store URI "${uri}" has no known scheme (expected one of: ${Object.keys(OPENERS).join(", ")})`,
    );
  return opener(uri.slice(colon + 1), environment);
}
