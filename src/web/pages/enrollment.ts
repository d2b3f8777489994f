/**
 * Requesting a certificate, three ways (src/ra): (1) a key pair made in this browser by
 * WebCrypto — the CSR is built by /assets/js/enroll.js and the private key stays in the
 * browser's IndexedDB until the certificate arrives, then leaves only inside a PKCS#12 the
 * browser builds; (2) a CSR from a USB-key tool, pasted or read from a file; (3) a key the
 * service generates, delivered once as a passphrase-protected PKCS#12. And a request's page.
 */
import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { parseCsr } from "../../ca/csr.js";
import { html } from "../html.js";
import { csrfField, errorBox, formatDate, notice, page } from "../layout.js";
import type { MessageKey } from "../messages/zh.js";
import type { Portal, PortalRequest } from "../portal.js";
import { certificateHref } from "./certificate-view.js";
import {
  type EnrollmentJson,
  type EnrollmentMethod,
  enrollmentStatusBadge,
  methodLabel,
  requestHref,
  uuidParam,
} from "./enrollment-view.js";
import { apiFailure } from "./forms.js";
import { doneNotice } from "./home.js";

interface ProfileJson {
  readonly name: string;
  readonly description: string;
  readonly keys: readonly string[];
  readonly requesters: readonly string[];
  readonly approval: "auto" | "ra-operator";
}

const METHODS: readonly EnrollmentMethod[] = ["browser", "csr", "server-keygen"];
/** What WebCrypto (browser) and the service (server-keygen) can make. */
const KEY_ALGORITHMS = ["ec:P-256", "ec:P-384", "rsa:2048", "rsa:3072"] as const;

async function requestableProfiles(view: PortalRequest): Promise<ProfileJson[]> {
  const { items } = await view.api.json<{ items: ProfileJson[] }>({ url: "/api/v1/profiles" });
  return items.filter((profile) => profile.requesters.some((role) => view.me.roles.includes(role as never)));
}

function enrollForm(view: PortalRequest, profiles: readonly ProfileJson[], error?: string) {
  const chosen = view.form.profile ?? view.query.profile ?? profiles[0]?.name;
  const method = (view.form.method as EnrollmentMethod | undefined) ?? "browser";
  return page(
    view,
    view.t("enroll.title"),
    html`${errorBox(error)}
<p>${view.t("enroll.intro")}</p>
<form method="post" action="/portal/enroll" class="stack" id="enroll-form" data-msg-generating="${view.t(
      "enroll.generating",
    )}" data-msg-no-webcrypto="${view.t("enroll.noWebCrypto")}">${csrfField(view)}
<fieldset><legend>${view.t("enroll.profile")}</legend>${profiles.map(
      (profile) =>
        html`<label class="choice"><input type="radio" name="profile" value="${profile.name}"${
          profile.name === chosen ? html` checked` : ""
        } data-keys="${profile.keys.join(" ")}"> <span><strong>${profile.name}</strong> — ${profile.description}${
          profile.approval === "ra-operator"
            ? html` <em class="muted">(${view.t("enroll.needsApproval")})</em>`
            : ""
        }</span></label>`,
    )}</fieldset>
<fieldset><legend>${view.t("enroll.method")}</legend>${METHODS.map(
      (m) =>
        html`<label class="choice"><input type="radio" name="method" value="${m}"${m === method ? html` checked` : ""}> ${methodLabel(
          view,
          m,
        )}</label><p class="muted hint">${view.t(`enroll.method.${m}.hint` as MessageKey)}</p>`,
    )}</fieldset>
<label>${view.t("enroll.algorithm")} <select name="algorithm">${KEY_ALGORITHMS.map(
      (algorithm) =>
        html`<option value="${algorithm}"${view.form.algorithm === algorithm ? html` selected` : ""}>${algorithm}</option>`,
    )}</select></label>
<label data-method="csr">${view.t("enroll.csr")} <textarea name="csr" rows="8" spellcheck="false" placeholder="-----BEGIN CERTIFICATE REQUEST-----">${view.form.method === "csr" ? (view.form.csr ?? "") : ""}</textarea></label>
<label data-method="csr">${view.t("enroll.csrFile")} <input type="file" id="csr-file" accept=".csr,.req,.pem,.der,.p10"></label>
<label data-method="server-keygen">${view.t("enroll.passphrase")} <input type="password" name="passphrase" autocomplete="new-password" minlength="8" maxlength="1024"></label>
<label data-method="server-keygen">${view.t("enroll.passphraseAgain")} <input type="password" name="passphrase2" autocomplete="new-password" minlength="8" maxlength="1024"></label>
<p class="muted" id="enroll-status" role="status" aria-live="polite"></p>
<button type="submit">${view.t("enroll.submit")}</button>
</form>
<script type="module" src="/assets/js/enroll.js"></script>`,
  );
}

/** The answer of POST /portal/enroll: the request's page, or (server key issued at once) the PKCS#12. */
async function submit(view: PortalRequest) {
  const form = view.form;
  const method = form.method as EnrollmentMethod;
  if (!METHODS.includes(method)) return { error: view.t("enroll.error.method") };
  let body: Record<string, unknown> = { profile: form.profile ?? "", method };
  if (method === "server-keygen") {
    if (!form.passphrase || form.passphrase.length < 8)
      return { error: view.t("enroll.error.passphraseShort") };
    if (form.passphrase !== form.passphrase2) return { error: view.t("enroll.error.passphraseMismatch") };
    body = { ...body, serverKeyGeneration: { algorithm: form.algorithm, passphrase: form.passphrase } };
  } else {
    if (!form.csr?.trim())
      return { error: view.t(method === "browser" ? "enroll.error.noScript" : "enroll.error.noCsr") };
    body = { ...body, csr: form.csr };
  }
  const created = await view.api.json<EnrollmentJson>({ method: "POST", url: "/api/v1/enrollments", body });
  if (created.pkcs12)
    return {
      file: Buffer.from(created.pkcs12, "base64"),
      type: "application/x-pkcs12",
      name: `${created.profile}-${created.certificate?.serial ?? created.id}.p12`,
    };
  return { redirect: `${requestHref(created.id)}?done=submitted` };
}

/** base64url SHA-256 of the CSR's public key: the name under which the browser kept the private key. */
async function keyId(csrPem: string | undefined): Promise<string | undefined> {
  if (!csrPem) return undefined;
  try {
    return createHash("sha256")
      .update((await parseCsr(csrPem)).spki)
      .digest("base64url");
  } catch {
    return undefined;
  }
}

async function requestPage(view: PortalRequest, id: string) {
  const r = await view.api.json<EnrollmentJson>({ url: `/api/v1/enrollments/${id}` });
  const row = (label: MessageKey, value: unknown) =>
    html`<tr><th scope="row">${view.t(label)}</th><td>${value as string}</td></tr>`;
  const done = doneNotice(view.query.done);
  const mine = r.requester.id === view.me.id;
  const certificate = r.certificate;
  const browserKey =
    mine && r.method === "browser" && certificate
      ? html`<section id="browser-pkcs12" data-key-id="${(await keyId(r.csr)) ?? ""}" data-chain="${certificateHref(certificate).replace("?", "/chain.pem?")}" data-name="${r.profile}-${certificate.serial}" data-msg-mismatch="${view.t(
          "enroll.error.passphraseMismatch",
        )}" data-msg-no-key="${view.t("request.saveP12.noKey")}" data-msg-working="${view.t(
          "request.saveP12.working",
        )}" data-msg-done="${view.t("request.saveP12.done")}" data-msg-removed="${view.t("request.keyRemoved")}">
<h2>${view.t("request.saveP12")}</h2><p>${view.t("request.saveP12.hint")}</p>
<form class="stack" id="p12-form"><label>${view.t("enroll.passphrase")} <input type="password" name="passphrase" autocomplete="new-password" minlength="8" required></label>
<label>${view.t("enroll.passphraseAgain")} <input type="password" name="passphrase2" autocomplete="new-password" minlength="8" required></label>
<button type="submit">${view.t("request.saveP12.button")}</button><p class="muted" id="p12-status" role="status" aria-live="polite"></p></form>
<button type="button" id="remove-key" class="secondary" hidden>${view.t("request.removeKey")}</button></section>
<script type="module" src="/assets/js/request.js"></script>`
      : "";
  const serverKey =
    mine && r.method === "server-keygen" && r.keyAwaitingDownload && r.status === "issued"
      ? html`<section><h2>${view.t("request.download")}</h2><p>${view.t("request.download.hint")}</p>
<form method="post" action="${requestHref(r.id)}/pkcs12" class="stack">${csrfField(view)}
<label>${view.t("enroll.passphrase")} <input type="password" name="passphrase" autocomplete="current-password" required maxlength="1024"></label>
<button type="submit">${view.t("request.download.button")}</button></form></section>`
      : "";
  const withdraw =
    mine && r.status === "pending"
      ? html`<form method="post" action="${requestHref(r.id)}/withdraw">${csrfField(view)}<button type="submit" class="secondary">${view.t(
          "request.withdraw",
        )}</button></form>`
      : "";
  return page(
    view,
    view.t("request.title", { profile: r.profile }),
    html`${notice(done && view.t(done))}<table class="details">
${row("certificate.status", enrollmentStatusBadge(view, r.status))}
${row("certificate.profile", r.profile)}
${row("request.method", methodLabel(view, r.method))}
${row("request.requester", `${r.requester.name}${r.requester.employeeNumber ? ` (${r.requester.employeeNumber})` : ""}`)}
${row("certificate.orgUnit", r.requester.orgUnit ?? "—")}
${row("request.createdAt", formatDate(view, r.createdAt))}
${r.status === "pending" ? row("request.expiresAt", formatDate(view, r.expiresAt)) : ""}
${r.decidedAt ? row("request.decidedAt", formatDate(view, r.decidedAt)) : ""}
${r.reason ? row("request.reason", r.reason) : ""}
${r.issueError ? row("request.issueError", r.issueError) : ""}
${r.deliveredAt ? row("request.deliveredAt", formatDate(view, r.deliveredAt)) : ""}
${certificate ? row("request.certificate", html`<a href="${certificateHref(certificate)}"><code>${certificate.serial}</code></a>`) : ""}
</table>${browserKey}${serverKey}${withdraw}`,
  );
}

export function enrollmentPages(app: FastifyInstance, portal: Portal, options: object): void {
  app.get(
    "/portal/enroll",
    options,
    portal.handle(async (view) => enrollForm(view, await requestableProfiles(view))),
  );

  app.post(
    "/portal/enroll",
    options,
    portal.handle(async (view) => {
      const profiles = await requestableProfiles(view);
      return apiFailure(
        async () => {
          const result = await submit(view);
          return "error" in result ? { html: enrollForm(view, profiles, result.error), status: 400 } : result;
        },
        async (message) => enrollForm(view, profiles, message),
      );
    }),
  );

  app.get<{ Params: { id: string } }>(
    "/portal/requests/:id",
    options,
    portal.handle(async (view, request) => requestPage(view, uuidParam(request.params))),
  );

  app.post<{ Params: { id: string } }>(
    "/portal/requests/:id/withdraw",
    options,
    portal.handle(async (view, request) => {
      const id = uuidParam(request.params);
      await view.api.json({ method: "POST", url: `/api/v1/enrollments/${id}/withdraw`, body: {} });
      return { redirect: `${requestHref(id)}?done=withdrawn` };
    }),
  );

  app.post<{ Params: { id: string } }>(
    "/portal/requests/:id/pkcs12",
    options,
    portal.handle(async (view, request) => {
      const id = uuidParam(request.params);
      const file = await view.api.bytes({
        method: "POST",
        url: `/api/v1/enrollments/${id}/pkcs12`,
        body: { passphrase: view.form.passphrase ?? "" },
        accept: "application/x-pkcs12",
      });
      return { file: file.body, type: "application/x-pkcs12", name: `${id}.p12` };
    }),
  );
}
