/**
 * The pkcs11js binding, loaded once. pkcs11js is CommonJS with its constants spread onto
 * module.exports, which Node's ESM loader cannot see as named exports, so it is required.
 */
import { createRequire } from "node:module";
import type * as Pkcs11Module from "pkcs11js";

export type { Handle, Mechanism, RsaPSS, Template } from "pkcs11js";

export const pkcs11: typeof Pkcs11Module = createRequire(import.meta.url)("pkcs11js");
