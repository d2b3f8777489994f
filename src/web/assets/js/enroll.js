/**
 * The enrolment form (src/web/pages/enrollment.ts): shows the fields of the chosen method,
 * reads a CSR file, and for "browser" makes the key pair with WebCrypto, builds the CSR and
 * keeps the key pair in IndexedDB under the SHA-256 of its public key (base64url) — the name
 * the request's page looks it up by once the certificate is issued. The private key is never
 * sent anywhere.
 */
import { buildCsr, createKeyPair } from "./csr.js";
import { toBase64 } from "./der.js";
import { putKeyPair } from "./key-vault.js";

const form = /** @type {HTMLFormElement | null} */ (document.getElementById("enroll-form"));
if (form) setUp(form);

/** @param {HTMLFormElement} form */
function setUp(form) {
  const status = /** @type {HTMLElement} */ (document.getElementById("enroll-status"));
  const csrField = /** @type {HTMLTextAreaElement} */ (form.elements.namedItem("csr"));
  const algorithm = /** @type {HTMLSelectElement} */ (form.elements.namedItem("algorithm"));
  const selected = (/** @type {string} */ name) =>
    /** @type {HTMLInputElement | null} */ (form.querySelector(`input[name="${name}"]:checked`));

  function showFields() {
    const method = selected("method")?.value;
    for (const field of form.querySelectorAll("[data-method]"))
      field.toggleAttribute("hidden", field.getAttribute("data-method") !== method);
    algorithm.closest("label")?.toggleAttribute("hidden", method === "csr");
    // Only the key types the chosen profile allows.
    const allowed = (selected("profile")?.dataset.keys ?? "").split(" ");
    for (const option of algorithm.options) option.disabled = !allowed.includes(option.value);
    if (algorithm.selectedOptions[0]?.disabled)
      algorithm.value = [...algorithm.options].find((option) => !option.disabled)?.value ?? algorithm.value;
  }
  form.addEventListener("change", showFields);
  showFields();

  document.getElementById("csr-file")?.addEventListener("change", async (event) => {
    const file = /** @type {HTMLInputElement} */ (event.target).files?.[0];
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    csrField.value = text.includes("-----BEGIN") ? text : toBase64(bytes); // PEM, or DER sent as base64
  });

  form.addEventListener("submit", async (event) => {
    if (selected("method")?.value !== "browser") return;
    event.preventDefault();
    if (!globalThis.crypto?.subtle) {
      status.textContent = form.dataset.msgNoWebcrypto ?? "";
      return;
    }
    status.textContent = form.dataset.msgGenerating ?? "";
    form.querySelector("button[type=submit]")?.setAttribute("disabled", "");
    try {
      const keyPair = await createKeyPair(
        /** @type {import("./key-algorithms.js").KeyAlgorithmName} */ (algorithm.value),
      );
      csrField.value = await buildCsr(keyPair);
      const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keyPair.publicKey));
      await putKeyPair(await keyId(spki), keyPair);
      form.submit(); // a programmatic submit does not come back to this listener
    } catch (error) {
      status.textContent = String(error instanceof Error ? error.message : error);
      form.querySelector("button[type=submit]")?.removeAttribute("disabled");
    }
  });
}

/**
 * base64url (RFC 4648 §5) SHA-256 of a SubjectPublicKeyInfo: the key's name in the vault.
 * @param {Uint8Array<ArrayBuffer>} spki
 */
export async function keyId(spki) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", spki));
  return toBase64(digest).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
