/**
 * The software key store, the embedded default: keys are generated in process and kept on
 * disk only wrapped with AES-256-GCM under a key-encryption key (KEK). The KEK comes from
 * CA_KEK (32 bytes, base64 or hex) or from a 0600 file created beside the keys. The
 * additional authenticated data binds each wrapped key to its label, algorithm and public
 * key, so a file renamed or edited fails to unwrap instead of signing with the wrong key.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { mkdir, open, readFile, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  assertLabel,
  KEY_ALGORITHMS,
  type KeyAlgorithm,
  type KeyInfo,
  type KeyStore,
  KeyStoreError,
  type SignRequest,
  type SynchronousSigner,
  signatureFitsKey,
} from "./key-store.js";

interface WrappedKeyFile {
  version: 1;
  label: string;
  algorithm: KeyAlgorithm;
  spki: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

interface LoadedKey {
  info: KeyInfo;
  privateKey: KeyObject;
}

const KEK_FILE = "kek";

function generate(algorithm: KeyAlgorithm): KeyObject {
  switch (algorithm) {
    case "ecdsa-p256":
      return generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    case "ecdsa-p384":
      return generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey;
    case "ed25519":
      return generateKeyPairSync("ed25519").privateKey;
    default: {
      const modulusLength = Number(algorithm.slice(4));
      return generateKeyPairSync("rsa", { modulusLength, publicExponent: 65537 }).privateKey;
    }
  }
}

/** The node:crypto hash name and options for one signature algorithm with this key. */
function signParameters(request: SignRequest, key: LoadedKey) {
  if (!signatureFitsKey(request.algorithm, key.info.algorithm))
    throw new KeyStoreError(
      "algorithm-mismatch",
      `signature algorithm ${request.algorithm} does not fit the ${key.info.algorithm} key "${request.label}"`,
    );
  const [family, , hash] = request.algorithm.split("-");
  if (request.algorithm === "ed25519") return { hash: null, options: {} };
  if (family === "ecdsa")
    return { hash: request.algorithm.slice(6), options: { dsaEncoding: "ieee-p1363" as const } };
  const hashName = hash!;
  if (request.algorithm.startsWith("rsa-pss-"))
    return {
      hash: hashName,
      options: { padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: -1 /* digest length */ },
    };
  return { hash: hashName, options: {} };
}

function additionalData(label: string, algorithm: KeyAlgorithm, spki: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`gov-ca/software-key/v1\n${label}\n${algorithm}\n`),
    createHash("sha256").update(spki).digest(),
  ]);
}

async function writePrivateFile(path: string, contents: string | Buffer): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(temporary, "wx", 0o600);
  try {
    await handle.writeFile(contents);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}

/** Reads the KEK from CA_KEK (base64 or hex) or creates the 0600 file in the key directory. */
export async function loadKek(directory: string, fromEnvironment: string | undefined): Promise<Buffer> {
  if (fromEnvironment) {
    const value = /^[0-9a-f]{64}$/i.test(fromEnvironment)
      ? Buffer.from(fromEnvironment, "hex")
      : Buffer.from(fromEnvironment, "base64");
    if (value.length !== 32)
      throw new KeyStoreError("bad-configuration", "CA_KEK must be 32 bytes, in hex or base64");
    return value;
  }
  const path = join(directory, KEK_FILE);
  try {
    const stats = await stat(path);
    if ((stats.mode & 0o077) !== 0)
      throw new KeyStoreError("bad-configuration", `${path} must be readable by its owner only (chmod 600)`);
    const value = Buffer.from((await readFile(path, "utf8")).trim(), "base64");
    if (value.length !== 32) throw new KeyStoreError("integrity", `${path} does not hold a 32-byte key`);
    return value;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    const value = randomBytes(32);
    await writePrivateFile(path, `${value.toString("base64")}\n`);
    return value;
  }
}

export class SoftwareKeyStore implements KeyStore, SynchronousSigner {
  readonly kind = "software";
  private readonly loaded = new Map<string, LoadedKey>();

  private constructor(
    private readonly directory: string,
    private readonly kek: Buffer,
  ) {}

  static async open(directory: string, kekFromEnvironment?: string): Promise<SoftwareKeyStore> {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    return new SoftwareKeyStore(directory, await loadKek(directory, kekFromEnvironment));
  }

  private pathOf(label: string): string {
    assertLabel(label);
    return join(this.directory, `${label}.key.json`);
  }

  async generateKey({ label, algorithm }: { label: string; algorithm: KeyAlgorithm }): Promise<KeyInfo> {
    const path = this.pathOf(label);
    if (!KEY_ALGORITHMS.includes(algorithm))
      throw new KeyStoreError("algorithm-unsupported", `key algorithm "${algorithm}" is not supported`);
    if (await this.getKey({ label }))
      throw new KeyStoreError("key-exists", `a key labelled "${label}" exists already`);
    const privateKey = generate(algorithm);
    const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.kek, iv);
    cipher.setAAD(additionalData(label, algorithm, spki));
    const pkcs8 = privateKey.export({ format: "der", type: "pkcs8" });
    const ciphertext = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
    pkcs8.fill(0);
    const file: WrappedKeyFile = {
      version: 1,
      label,
      algorithm,
      spki: spki.toString("base64"),
      iv: iv.toString("base64"),
      ciphertext: ciphertext.toString("base64"),
      tag: cipher.getAuthTag().toString("base64"),
    };
    await writePrivateFile(path, JSON.stringify(file, null, 2));
    const info: KeyInfo = { label, algorithm, spki };
    this.loaded.set(label, { info, privateKey });
    return info;
  }

  private async load(label: string): Promise<LoadedKey | undefined> {
    const cached = this.loaded.get(label);
    if (cached) return cached;
    let text: string;
    try {
      text = await readFile(this.pathOf(label), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    const file = JSON.parse(text) as WrappedKeyFile;
    const spki = Buffer.from(file.spki, "base64");
    if (file.label !== label)
      throw new KeyStoreError("integrity", `key file for "${label}" names "${file.label}"`);
    let pkcs8: Buffer;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.kek, Buffer.from(file.iv, "base64"));
      decipher.setAAD(additionalData(label, file.algorithm, spki));
      decipher.setAuthTag(Buffer.from(file.tag, "base64"));
      pkcs8 = Buffer.concat([decipher.update(Buffer.from(file.ciphertext, "base64")), decipher.final()]);
    } catch {
      throw new KeyStoreError(
        "bad-credentials",
        `key "${label}" does not unwrap under this key-encryption key`,
      );
    }
    const privateKey = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
    pkcs8.fill(0);
    const derived = createPublicKey(privateKey).export({ format: "der", type: "spki" });
    if (!derived.equals(spki))
      throw new KeyStoreError("integrity", `key "${label}" does not match its public key`);
    const loaded = { info: { label, algorithm: file.algorithm, spki }, privateKey };
    this.loaded.set(label, loaded);
    return loaded;
  }

  async getKey({ label }: { label: string }): Promise<KeyInfo | undefined> {
    return (await this.load(label))?.info;
  }

  async sign(request: SignRequest): Promise<Uint8Array> {
    const key = await this.load(request.label);
    if (!key) throw new KeyStoreError("key-not-found", `no key labelled "${request.label}"`);
    const { hash, options } = signParameters(request, key);
    // The callback form signs on the libuv pool, leaving the event loop to serve requests.
    return new Promise((resolve, reject) =>
      cryptoSign(hash, request.data, { key: key.privateKey, ...options }, (error, signature) =>
        error ? reject(error) : resolve(signature),
      ),
    );
  }

  /** SynchronousSigner: on this thread, once the key is loaded. */
  signNow(request: SignRequest): Uint8Array | undefined {
    const key = this.loaded.get(request.label);
    if (!key) return undefined;
    const { hash, options } = signParameters(request, key);
    return cryptoSign(hash, request.data, { key: key.privateKey, ...options });
  }

  async probe(): Promise<void> {
    await stat(this.directory);
  }

  async close(): Promise<void> {
    this.loaded.clear();
  }
}
