/** Classifies PKCS#11 return values (PKCS#11 v2.40 §5.1) into what the adapter does next. */

import { KeyStoreError } from "../key-store.js";
import { pkcs11 } from "./native.js";

/** The session or the device is gone: reconnect, log in again, retry once. */
const CONNECTION_LOST = new Set<number>([
  pkcs11.CKR_SESSION_HANDLE_INVALID,
  pkcs11.CKR_SESSION_CLOSED,
  pkcs11.CKR_DEVICE_REMOVED,
  pkcs11.CKR_DEVICE_ERROR,
  pkcs11.CKR_TOKEN_NOT_PRESENT,
  pkcs11.CKR_TOKEN_NOT_RECOGNIZED,
  pkcs11.CKR_USER_NOT_LOGGED_IN,
  pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED,
  pkcs11.CKR_SLOT_ID_INVALID,
  pkcs11.CKR_GENERAL_ERROR,
  pkcs11.CKR_DEVICE_MEMORY,
  pkcs11.CKR_KEY_HANDLE_INVALID,
  pkcs11.CKR_OBJECT_HANDLE_INVALID,
]);

/** The token said CKR_OK but its signature does not verify: treat the device as faulty. */
export class FaultySignatureError extends Error {
  override readonly name = "FaultySignatureError";
}

export function returnValue(error: unknown): number | undefined {
  return error instanceof pkcs11.Pkcs11Error ? error.code : undefined;
}

export const isConnectionLost = (error: unknown): boolean => {
  if (error instanceof FaultySignatureError) return true;
  const code = returnValue(error);
  return code !== undefined && CONNECTION_LOST.has(code);
};

/** A KeyStoreError for a PKCS#11 failure; the message names the function and CKR_ value. */
export function toKeyStoreError(error: unknown, context: string): KeyStoreError {
  if (error instanceof KeyStoreError) return error;
  if (error instanceof FaultySignatureError)
    return new KeyStoreError(
      "unavailable",
      `${context}: the token returned a signature that does not verify (device fault); refused`,
    );
  const code = returnValue(error);
  const name =
    code === undefined
      ? undefined
      : Object.entries(pkcs11).find(([key, value]) => key.startsWith("CKR_") && value === code)?.[0];
  const what = `${context}: ${name ?? (error as Error).message}`;
  if (
    code === pkcs11.CKR_PIN_INCORRECT ||
    code === pkcs11.CKR_PIN_LOCKED ||
    code === pkcs11.CKR_PIN_LEN_RANGE
  )
    return new KeyStoreError("bad-credentials", `${context}: the token refused the PIN (${name})`);
  if (
    code === pkcs11.CKR_MECHANISM_INVALID ||
    code === pkcs11.CKR_MECHANISM_PARAM_INVALID ||
    code === pkcs11.CKR_TEMPLATE_INCONSISTENT
  )
    return new KeyStoreError("algorithm-unsupported", what);
  if (code !== undefined && CONNECTION_LOST.has(code)) return new KeyStoreError("unavailable", what);
  return new KeyStoreError("unavailable", what);
}
