// Loads the portal's crypto modules the way the portal will: <script type="module"> from
// /assets/js/, under `script-src 'self'`.
import * as csr from "/assets/js/csr.js";
import * as der from "/assets/js/der.js";
import * as vault from "/assets/js/key-vault.js";
import * as pkcs12 from "/assets/js/pkcs12.js";

globalThis.modules = { csr, der, pkcs12, vault };
globalThis.keyPairs = {};
globalThis.modulesReady = true;
