/**
 * The PKCS#11 key store: CA, OCSP and token-signing keys generated and kept on a token
 * (non-extractable, sensitive, token objects found by label). It survives what real HSMs do:
 * a session or the device lost (idle timeouts, restarts) makes it reconnect, log in again
 * and retry the signature once; before signing again with a key it checks that the key's
 * public key is still the one on record. While the token is unreachable, calls fail fast
 * with `unavailable` and a background probe reconnects as soon as the token is back.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import {
  assertLabel,
  KEY_ALGORITHMS,
  type KeyAlgorithm,
  type KeyInfo,
  type KeyStore,
  KeyStoreError,
  type SignRequest,
  signatureFitsKey,
} from "../key-store.js";
import { FaultySignatureError, isConnectionLost, returnValue, toKeyStoreError } from "./errors.js";
import {
  keyPairTemplates,
  publicKeyInfo,
  signatureLength,
  signatureVerifies,
  signingMechanism,
} from "./keys.js";
import { type Handle, pkcs11, type Template } from "./native.js";
import { SessionPool } from "./session-pool.js";
import type { Pkcs11Uri } from "./uri.js";

interface Connection {
  readonly slot: Handle;
  readonly pool: SessionPool;
  readonly generation: number;
}

interface CachedKey {
  readonly info: KeyInfo;
  readonly publicKey: KeyObject;
  readonly handle: Handle;
  readonly generation: number;
}

const CKU_USER = 1;

/**
 * A PKCS#11 library is one global state per process (C_Initialize/C_Finalize act on all of
 * it), so one key store owns a module at a time; a second would finalize the first's sessions.
 */
const modulesInUse = new Set<string>();

function unsignedLong(buffer: Buffer | undefined): number {
  if (!buffer || buffer.length === 0) return -1;
  return buffer.length >= 8 ? Number(buffer.readBigUInt64LE(0)) : buffer.readUInt32LE(0);
}

export class Pkcs11KeyStore implements KeyStore {
  readonly kind = "pkcs11";
  private readonly module = new pkcs11.PKCS11();
  private connection: Connection | undefined;
  private reconnecting: Promise<void> | undefined;
  private generation = 0;
  private closed = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private readonly keys = new Map<string, CachedKey>();
  /** The public key first seen under each label: what "the key on record" means after a reconnect. */
  private readonly onRecord = new Map<string, Buffer>();

  private constructor(
    private readonly uri: Pkcs11Uri,
    private readonly pin: string,
  ) {}

  static async open(uri: Pkcs11Uri): Promise<Pkcs11KeyStore> {
    if (modulesInUse.has(uri.modulePath))
      throw new KeyStoreError(
        "bad-configuration",
        `PKCS#11 module ${uri.modulePath} is already in use by a key store in this process`,
      );
    const store = new Pkcs11KeyStore(uri, await readPin(uri));
    if (uri.softHsmConfig) process.env.SOFTHSM2_CONF = uri.softHsmConfig; // read by SoftHSMv2 in C_Initialize
    try {
      store.module.load(uri.modulePath);
    } catch (error) {
      throw new KeyStoreError(
        "bad-configuration",
        `cannot load PKCS#11 module ${uri.modulePath}: ${(error as Error).message}`,
      );
    }
    try {
      store.initialize();
      await store.connect();
    } catch (error) {
      store.finalize();
      store.module.close();
      throw error;
    }
    modulesInUse.add(uri.modulePath);
    store.scheduleProbe();
    return store;
  }

  /** Whether signing is possible right now (for readiness reports). */
  get available(): boolean {
    return this.connection !== undefined;
  }

  private initialize(): void {
    // PKCS#11 v2.40 §5.4: with CKF_OS_LOCKING_OK the library locks itself, so sessions may be
    // used from several threads (C_SignAsync runs on the libuv pool) without crashing SoftHSM.
    try {
      this.module.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK });
    } catch (error) {
      if (returnValue(error) !== pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)
        throw toKeyStoreError(error, "C_Initialize");
    }
  }

  private finalize(): void {
    try {
      this.module.C_Finalize();
    } catch {
      // already finalized or the library is in a bad state: initialize() will tell
    }
  }

  private findSlot(): Handle {
    const { token, serial, slotId } = this.uri;
    for (const slot of this.module.C_GetSlotList(true)) {
      if (slotId !== undefined && unsignedLong(slot) !== slotId) continue;
      const info = this.module.C_GetTokenInfo(slot);
      if (token !== undefined && info.label.trimEnd() !== token) continue;
      if (serial !== undefined && info.serialNumber.trimEnd() !== serial) continue;
      return slot;
    }
    throw new KeyStoreError(
      "token-not-found",
      `no PKCS#11 token ${token ? `labelled "${token}"` : serial ? `with serial ${serial}` : `in slot ${slotId}`} in ${this.uri.modulePath}`,
    );
  }

  private async connect(): Promise<void> {
    const slot = this.findSlot();
    const sessions: Handle[] = [];
    try {
      for (let i = 0; i < this.uri.poolSize; i++)
        sessions.push(this.module.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION | pkcs11.CKF_RW_SESSION));
      try {
        this.module.C_Login(sessions[0]!, CKU_USER, this.pin);
      } catch (error) {
        if (returnValue(error) !== pkcs11.CKR_USER_ALREADY_LOGGED_IN) throw error;
      }
    } catch (error) {
      for (const session of sessions) this.closeSession(session);
      throw toKeyStoreError(
        error,
        `opening sessions on token "${this.uri.token ?? this.uri.serial ?? this.uri.slotId}"`,
      );
    }
    this.generation += 1;
    this.connection = { slot, pool: new SessionPool(sessions), generation: this.generation };
  }

  private closeSession(session: Handle): void {
    try {
      this.module.C_CloseSession(session);
    } catch {
      // the session is already gone
    }
  }

  /**
   * Re-establishes the connection: stop lending sessions, wait for operations in flight
   * (finalizing under a running C_SignAsync would crash the library), finalize, initialize,
   * open and log in. Concurrent callers share one attempt.
   */
  private recover(): Promise<void> {
    if (this.closed) return Promise.reject(new KeyStoreError("unavailable", "the key store is closed"));
    this.reconnecting ??= (async () => {
      const previous = this.connection;
      this.connection = undefined;
      if (previous) {
        previous.pool.close();
        await previous.pool.drained(10_000);
        for (const session of previous.pool.sessions) this.closeSession(session);
      }
      this.finalize();
      this.initialize();
      await this.connect();
    })().finally(() => {
      this.reconnecting = undefined;
    });
    return this.reconnecting;
  }

  private async withSession<T>(work: (session: Handle, connection: Connection) => Promise<T>): Promise<T> {
    const connection = this.connection;
    if (!connection)
      throw new KeyStoreError(
        "unavailable",
        "the PKCS#11 token is unreachable; reconnecting in the background",
      );
    const session = await connection.pool.acquire();
    try {
      return await work(session, connection);
    } finally {
      connection.pool.release(session);
    }
  }

  /** Runs `work` on a session; on a lost session or device, reconnects and retries once. */
  private async run<T>(
    context: string,
    work: (session: Handle, connection: Connection) => Promise<T>,
  ): Promise<T> {
    try {
      return await this.withSession(work);
    } catch (error) {
      if (!isConnectionLost(error)) throw toKeyStoreError(error, context);
      try {
        await this.recover();
      } catch (reconnectError) {
        throw toKeyStoreError(reconnectError, `${context}: reconnecting`);
      }
      try {
        return await this.withSession(work);
      } catch (retryError) {
        if (isConnectionLost(retryError)) void this.recover().catch(() => undefined);
        throw toKeyStoreError(retryError, context);
      }
    }
  }

  private findObjects(session: Handle, template: Template): Handle[] {
    this.module.C_FindObjectsInit(session, template);
    try {
      return this.module.C_FindObjects(session, 4);
    } finally {
      this.module.C_FindObjectsFinal(session);
    }
  }

  /** Finds the key pair labelled `label` on the token; undefined when there is none. */
  private lookUp(session: Handle, label: string, generation: number): CachedKey | undefined {
    const privateKeys = this.findObjects(session, [
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
      { type: pkcs11.CKA_LABEL, value: label },
    ]);
    if (privateKeys.length === 0) return undefined;
    if (privateKeys.length > 1)
      throw new KeyStoreError("integrity", `several private keys are labelled "${label}" on the token`);
    const [publicKey] = this.findObjects(session, [
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PUBLIC_KEY },
      { type: pkcs11.CKA_LABEL, value: label },
    ]);
    if (!publicKey)
      throw new KeyStoreError("integrity", `the private key "${label}" has no public key object`);
    const [keyType] = this.module.C_GetAttributeValue(session, publicKey, [{ type: pkcs11.CKA_KEY_TYPE }]);
    const type = unsignedLong(keyType?.value as Buffer);
    const attributes =
      type === pkcs11.CKK_RSA
        ? this.module.C_GetAttributeValue(session, publicKey, [
            { type: pkcs11.CKA_MODULUS },
            { type: pkcs11.CKA_PUBLIC_EXPONENT },
          ])
        : this.module.C_GetAttributeValue(session, publicKey, [
            { type: pkcs11.CKA_EC_PARAMS },
            { type: pkcs11.CKA_EC_POINT },
          ]);
    const values = attributes.map((attribute) => attribute.value as Buffer);
    const { algorithm, spki } = publicKeyInfo(
      type === pkcs11.CKK_RSA
        ? { keyType: type, modulus: values[0]!, exponent: values[1]! }
        : { keyType: type, ecParams: values[0]!, ecPoint: values[1]! },
    );
    const recorded = this.onRecord.get(label);
    if (recorded && !recorded.equals(spki))
      throw new KeyStoreError(
        "integrity",
        `the key labelled "${label}" on the token is not the key on record; refusing to use it`,
      );
    this.onRecord.set(label, spki);
    const publicKeyObject = createPublicKey({ key: spki, format: "der", type: "spki" });
    return {
      info: { label, algorithm, spki },
      publicKey: publicKeyObject,
      handle: privateKeys[0]!,
      generation,
    };
  }

  /** The key for this connection generation: found again (and checked) after every reconnect. */
  private keyFor(session: Handle, label: string, connection: Connection): CachedKey | undefined {
    const cached = this.keys.get(label);
    if (cached && cached.generation === connection.generation) return cached;
    const found = this.lookUp(session, label, connection.generation);
    if (found) this.keys.set(label, found);
    return found;
  }

  async generateKey({ label, algorithm }: { label: string; algorithm: KeyAlgorithm }): Promise<KeyInfo> {
    assertLabel(label);
    if (!KEY_ALGORITHMS.includes(algorithm))
      throw new KeyStoreError("algorithm-unsupported", `key algorithm "${algorithm}" is not supported`);
    const templates = keyPairTemplates(label, algorithm);
    return this.run(`generating "${label}"`, async (session, connection) => {
      if (this.keyFor(session, label, connection))
        throw new KeyStoreError("key-exists", `a key labelled "${label}" exists already on the token`);
      await this.module.C_GenerateKeyPairAsync(
        session,
        templates.mechanism,
        templates.publicTemplate,
        templates.privateTemplate,
      );
      const created = this.keyFor(session, label, connection);
      if (!created)
        throw new KeyStoreError("integrity", `the key "${label}" was generated but cannot be found`);
      return created.info;
    });
  }

  async getKey({ label }: { label: string }): Promise<KeyInfo | undefined> {
    assertLabel(label);
    return this.run(
      `finding "${label}"`,
      async (session, connection) => this.keyFor(session, label, connection)?.info,
    );
  }

  async sign(request: SignRequest): Promise<Uint8Array> {
    return this.run(`signing with "${request.label}"`, async (session, connection) => {
      const key = this.keyFor(session, request.label, connection);
      if (!key) throw new KeyStoreError("key-not-found", `no key labelled "${request.label}" on the token`);
      if (!signatureFitsKey(request.algorithm, key.info.algorithm))
        throw new KeyStoreError(
          "algorithm-mismatch",
          `signature algorithm ${request.algorithm} does not fit the ${key.info.algorithm} key "${request.label}"`,
        );
      const { mechanism, input } = signingMechanism(request.algorithm, request.data);
      this.module.C_SignInit(session, mechanism, key.handle);
      const signature = await this.module.C_SignAsync(
        session,
        input,
        Buffer.alloc(signatureLength(key.info.algorithm)),
      );
      const check = this.uri.verifySignatures === "all" || key.info.algorithm.startsWith("rsa-");
      if (check && !(await signatureVerifies(key.publicKey, request.algorithm, request.data, signature)))
        throw new FaultySignatureError();
      return signature;
    });
  }

  /** Health probe: a cheap call on an idle session; reconnects when the session or device is gone. */
  async probe(): Promise<void> {
    await this.reconnecting?.catch(() => undefined);
    const connection = this.connection;
    if (!connection) {
      await this.recover().catch((error: unknown) => {
        throw toKeyStoreError(error, "reconnecting to the token");
      });
      return;
    }
    const session = connection.pool.tryAcquire();
    if (!session) return; // every session is busy signing: the token is evidently there
    try {
      this.module.C_GetSessionInfo(session);
      this.module.C_GetTokenInfo(connection.slot);
    } catch (error) {
      connection.pool.release(session);
      if (!isConnectionLost(error)) throw toKeyStoreError(error, "probing the token");
      await this.recover();
      return;
    }
    connection.pool.release(session);
  }

  private scheduleProbe(): void {
    if (this.closed) return;
    const delay = this.connection ? this.uri.probeSeconds * 1000 : 1000;
    this.probeTimer = setTimeout(() => {
      void this.probe()
        .catch(() => undefined)
        .finally(() => this.scheduleProbe());
    }, delay);
    this.probeTimer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.probeTimer);
    await this.reconnecting?.catch(() => undefined);
    const connection = this.connection;
    this.connection = undefined;
    if (connection) {
      connection.pool.close();
      await connection.pool.drained(10_000);
      for (const session of connection.pool.sessions) this.closeSession(session);
    }
    this.finalize();
    this.module.close();
    this.keys.clear();
    modulesInUse.delete(this.uri.modulePath);
  }
}

async function readPin(uri: Pkcs11Uri): Promise<string> {
  const source = uri.pinSource;
  if (source.kind === "env") {
    const pin = process.env[source.name];
    if (!pin) throw new KeyStoreError("bad-configuration", `the PIN variable ${source.name} is not set`);
    return pin;
  }
  try {
    return (await readFile(source.path, "utf8")).replace(/\r?\n$/, "");
  } catch (error) {
    throw new KeyStoreError(
      "bad-configuration",
      `cannot read the PIN file ${source.path}: ${(error as NodeJS.ErrnoException).code}`,
    );
  }
}
