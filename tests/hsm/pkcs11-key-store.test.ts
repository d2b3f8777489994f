/** The PKCS#11 adapter on a real SoftHSMv2 token: the shared contract, plus token-specific behaviour. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyStoreError } from "../../hsm-adapters/key-store.js";
import { openKeyStore } from "../../hsm-adapters/open.js";
import { keyId } from "../../hsm-adapters/pkcs11/keys.js";
import { pkcs11 } from "../../hsm-adapters/pkcs11/native.js";
import { parsePkcs11Uri } from "../../hsm-adapters/pkcs11/uri.js";
import { createSoftHsmToken, type SoftHsmToken } from "../../hsm-adapters/softhsm.js";
import { keyStoreContract } from "./key-store-contract.js";

const directory = await mkdtemp(join(tmpdir(), "softhsm-"));
const token = await createSoftHsmToken({ directory, label: "contract" });

keyStoreContract({
  name: "pkcs11 (SoftHSMv2)",
  open: () => openKeyStore(token.uri({ "x-pool-size": 4 })),
  cleanup: () => rm(directory, { recursive: true, force: true }),
});

describe("PKCS#11 URI (RFC 7512)", () => {
  it("parses token, module path, PIN source and vendor attributes", () => {
    expect(
      parsePkcs11Uri("token=gov%20ca;pin-source=file:/run/pin?module-path=/usr/lib/x.so&x-pool-size=3"),
    ).toMatchObject({
      token: "gov ca",
      modulePath: "/usr/lib/x.so",
      pinSource: { kind: "file", path: "/run/pin" },
      poolSize: 3,
    });
    expect(parsePkcs11Uri("serial=abc?module-path=/m.so&pin-source=env:HSM_PIN").pinSource).toEqual({
      kind: "env",
      name: "HSM_PIN",
    });
  });

  it.each([
    ["token=a?module-path=/m.so&pin-value=1234", /pin-value is refused/],
    ["token=a?pin-source=env:P", /module-path is required/],
    ["token=a?module-path=/m.so", /pin-source is required/],
    ["?module-path=/m.so&pin-source=env:P", /name the token/],
    ["token=a;token=b?module-path=/m.so&pin-source=env:P", /appears twice/],
    ["token=a?module-path=/m.so&pin-source=stdin", /must start with file: or env:/],
    ["token=a?module-path=/m.so&pin-source=env:P&x-pool-size=0", /x-pool-size must be an integer/],
  ])("refuses %s", (uri, message) => {
    expect(() => parsePkcs11Uri(uri)).toThrow(message);
  });
});

describe("PKCS#11 adapter on SoftHSMv2", () => {
  let other: SoftHsmToken;
  let otherDirectory: string;
  beforeAll(async () => {
    otherDirectory = await mkdtemp(join(tmpdir(), "softhsm-"));
    other = await createSoftHsmToken({ directory: otherDirectory, label: "other" });
  });
  afterAll(async () => rm(otherDirectory, { recursive: true, force: true }));

  const errorOf = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error,
    );

  it("refuses a wrong PIN with bad-credentials, without retrying", async () => {
    process.env.WRONG_PIN = "000000";
    const uri = other.uri().replace(/pin-source=[^&]+/, "pin-source=env:WRONG_PIN");
    const error = await errorOf(openKeyStore(uri));
    expect(error).toBeInstanceOf(KeyStoreError);
    expect((error as KeyStoreError).code).toBe("bad-credentials");
    expect((error as KeyStoreError).message).not.toContain("000000");
  });

  it("names a missing token", async () => {
    const error = await errorOf(openKeyStore(other.uri().replace("token=other", "token=absent")));
    expect((error as KeyStoreError).code).toBe("token-not-found");
    expect((error as KeyStoreError).message).toContain('labelled "absent"');
  });

  it("names a module that does not load", async () => {
    const error = await errorOf(
      openKeyStore(other.uri().replace(/module-path=[^&]+/, "module-path=/nonexistent/libpkcs11.so")),
    );
    expect((error as KeyStoreError).code).toBe("bad-configuration");
  });

  it("creates non-extractable, sensitive token objects with a stable CKA_ID, and the token refuses to reveal them", async () => {
    const store = await openKeyStore(other.uri());
    await store.generateKey({ label: "ca-check", algorithm: "ecdsa-p256" });
    await store.close();
    const module = new pkcs11.PKCS11();
    module.load(other.modulePath);
    module.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK });
    try {
      const slot = module
        .C_GetSlotList(true)
        .find((s) => module.C_GetTokenInfo(s).label.trimEnd() === "other")!;
      const session = module.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION);
      module.C_Login(session, 1, (await import("node:fs")).readFileSync(other.pinFile, "utf8").trim());
      module.C_FindObjectsInit(session, [
        { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
        { type: pkcs11.CKA_LABEL, value: "ca-check" },
      ]);
      const [key] = module.C_FindObjects(session, 2);
      module.C_FindObjectsFinal(session);
      const attributes = module.C_GetAttributeValue(session, key!, [
        { type: pkcs11.CKA_TOKEN },
        { type: pkcs11.CKA_SENSITIVE },
        { type: pkcs11.CKA_EXTRACTABLE },
        { type: pkcs11.CKA_ID },
      ]);
      expect(attributes.map((a) => (a.value as Buffer)[0])).toEqual([1, 1, 0, keyId("ca-check")[0]]);
      expect((attributes[3]!.value as Buffer).equals(keyId("ca-check"))).toBe(true);
      expect(() => module.C_GetAttributeValue(session, key!, [{ type: pkcs11.CKA_VALUE }])).toThrow(
        /CKR_ATTRIBUTE_SENSITIVE/,
      );
    } finally {
      module.C_Finalize();
      module.close();
    }
  });
});

describe("session pool accounting", () => {
  it("returns to zero sessions in use after a burst larger than the pool", async () => {
    const { SessionPool } = await import("../../hsm-adapters/pkcs11/session-pool.js");
    const pool = new SessionPool([Buffer.from([1]), Buffer.from([2])]);
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const session = await pool.acquire();
        await new Promise((resolve) => setTimeout(resolve, 1));
        pool.release(session);
      }),
    );
    expect(pool.inUse).toBe(0);
    expect(await pool.drained(10)).toBe(true);
  });
});

describe("verify-after-sign policy", () => {
  it("defaults to verifying every signature and accepts only all or rsa", () => {
    const base = "token=a?module-path=/m.so&pin-source=env:P";
    expect(parsePkcs11Uri(base).verifySignatures).toBe("all");
    expect(parsePkcs11Uri(`${base}&x-verify-signatures=rsa`).verifySignatures).toBe("rsa");
    expect(() => parsePkcs11Uri(`${base}&x-verify-signatures=none`)).toThrow(/must be "all" or "rsa"/);
  });
});
