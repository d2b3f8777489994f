/**
 * A request's page, once its certificate is issued (src/web/pages/enrollment.ts): finds the
 * key pair this browser made for it (key-vault.js, by the public key's SHA-256), fetches the
 * certificate chain, and builds the PKCS#12 under the passphrase typed here (pkcs12.js),
 * offered as a download. Nothing leaves the browser but the file the user saves.
 */
import { fromPem } from "./der.js";
import { deleteKeyPair, getKeyPair } from "./key-vault.js";
import { buildPkcs12 } from "./pkcs12.js";

const section = document.getElementById("browser-pkcs12");
const form = /** @type {HTMLFormElement | null} */ (document.getElementById("p12-form"));
if (section && form) setUp(section, form);

/**
 * @param {HTMLElement} section
 * @param {HTMLFormElement} form
 */
function setUp(section, form) {
  const status = /** @type {HTMLElement} */ (document.getElementById("p12-status"));
  const value = (/** @type {string} */ name) =>
    /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value;
  const button = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (value("passphrase") !== value("passphrase2")) {
      status.textContent = section.dataset.msgMismatch ?? "";
      return;
    }
    const keyPair = await getKeyPair(section.dataset.keyId ?? "");
    if (!keyPair) {
      status.textContent = section.dataset.msgNoKey ?? "";
      return;
    }
    button.disabled = true;
    status.textContent = section.dataset.msgWorking ?? "";
    try {
      const response = await fetch(section.dataset.chain ?? "", { credentials: "same-origin" });
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      const certificates = fromPem(await response.text(), "CERTIFICATE");
      const name = section.dataset.name ?? "certificate";
      const pfx = await buildPkcs12({
        privateKey: keyPair.privateKey,
        certificates,
        passphrase: value("passphrase"),
        friendlyName: name,
      });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([pfx], { type: "application/x-pkcs12" }));
      link.download = `${name}.p12`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
      status.textContent = section.dataset.msgDone ?? "";
      offerRemoval(section);
    } catch (error) {
      status.textContent = String(error instanceof Error ? error.message : error);
    } finally {
      button.disabled = false;
    }
  });
}

/**
 * Once the file is saved, the extractable key need not stay in this browser's storage, where
 * only the page's CSP keeps other scripts from it: the user removes it when the file is safe.
 * @param {HTMLElement} section
 */
function offerRemoval(section) {
  const remove = /** @type {HTMLButtonElement | null} */ (document.getElementById("remove-key"));
  if (!remove) return;
  remove.hidden = false;
  remove.addEventListener(
    "click",
    async () => {
      await deleteKeyPair(section.dataset.keyId ?? "");
      remove.hidden = true;
      const status = document.getElementById("p12-status");
      if (status) status.textContent = section.dataset.msgRemoved ?? "";
    },
    { once: true },
  );
}
