/**
 * Key pairs waiting for their certificate, kept in this browser's IndexedDB under the
 * enrollment request id. CryptoKey objects are structured-cloneable (W3C WebCrypto §10),
 * so they are stored as they are: no export, no wrapping. They live until `deleteKeyPair`
 * (after the PKCS#12 is saved) or until the user clears the site's data.
 */

const DATABASE = "gov-ca-enrollment-keys";
const STORE = "keyPairs";
const VERSION = 1;

/**
 * @typedef {object} StoredKeyPair
 * @property {string} requestId
 * @property {CryptoKeyPair} keyPair
 * @property {string} createdAt ISO 8601
 */

/** @returns {Promise<IDBDatabase>} */
function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, VERSION);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "requestId" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () =>
      reject(new Error("the key vault is blocked by another tab holding an old version"));
  });
}

/**
 * Runs one request in its own transaction and resolves once the transaction has committed.
 * @template T
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest<T>} operation
 * @returns {Promise<T>}
 */
async function run(mode, operation) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = operation(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error ?? request.error);
      transaction.onabort = () => reject(transaction.error ?? new Error("key vault transaction aborted"));
    });
  } finally {
    db.close();
  }
}

/**
 * @param {string} requestId
 * @param {CryptoKeyPair} keyPair
 * @returns {Promise<void>}
 */
export async function putKeyPair(requestId, keyPair) {
  if (!requestId) throw new TypeError("key vault: a request id is required");
  /** @type {StoredKeyPair} */
  const record = { requestId, keyPair, createdAt: new Date().toISOString() };
  await run("readwrite", (store) => store.put(record));
}

/**
 * @param {string} requestId
 * @returns {Promise<CryptoKeyPair | undefined>}
 */
export async function getKeyPair(requestId) {
  /** @type {StoredKeyPair | undefined} */
  const record = await run("readonly", (store) => store.get(requestId));
  return record?.keyPair;
}

/**
 * @param {string} requestId
 * @returns {Promise<void>}
 */
export async function deleteKeyPair(requestId) {
  await run("readwrite", (store) => store.delete(requestId));
}

/**
 * The waiting requests, oldest first, without their keys.
 * @returns {Promise<{ requestId: string, algorithm: KeyAlgorithm, createdAt: string }[]>}
 */
export async function listKeyPairs() {
  /** @type {StoredKeyPair[]} */
  const records = await run("readonly", (store) => store.getAll());
  return records
    .map(({ requestId, keyPair, createdAt }) => ({
      requestId,
      algorithm: keyPair.privateKey.algorithm,
      createdAt,
    }))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}
