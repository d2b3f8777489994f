/** RBAC with several roles: a permission is held when any role holds it; scope follows the widest role. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "../../db/stores/principals.js";
import {
  actingIn,
  canSeeCertificate,
  certificateScope,
  requestsForItself,
  requireOrgScope,
  requirePermission,
  requireUserManagement,
} from "../../src/auth/policy.js";
import { actorOf, cliActor, type Principal } from "../../src/auth/principal.js";
import { buildCsrPem } from "../helpers/csr.js";
import { ENGINES } from "../helpers/databases.js";
import { createHarness, type Harness } from "../helpers/harness.js";

const principal = (roles: Role[], orgUnit: string | null = "gov/north"): Principal => ({
  id: "00000000-0000-4000-8000-000000000001",
  kind: "user",
  name: "Multi",
  roles,
  orgUnit,
  dnsNames: [],
});

describe("policy with several roles", () => {
  it("holds a permission when any one role holds it, and names all roles when none does", () => {
    const auditorSubscriber = principal(["auditor", "subscriber"]);
    expect(requirePermission(auditorSubscriber, "audit:read")).toBe(auditorSubscriber);
    expect(requirePermission(auditorSubscriber, "certificate:issue")).toBe(auditorSubscriber);
    expect(() => requirePermission(auditorSubscriber, "ca:manage")).toThrow(
      "the roles auditor, subscriber do not have the ca:manage permission",
    );
    expect(() => requirePermission(principal(["auditor"]), "ca:manage")).toThrow(
      "the auditor role does not have the ca:manage permission",
    );
  });

  it("scopes certificates by the widest role", () => {
    expect(certificateScope(principal(["subscriber", "auditor"]))).toEqual({ all: true });
    expect(certificateScope(principal(["subscriber", "ra-operator"]))).toEqual({ orgUnit: "gov/north" });
    expect(certificateScope(principal(["subscriber"]))).toEqual({ ownerId: principal([]).id });
    const ra = principal(["ra-operator", "subscriber"]);
    expect(canSeeCertificate(ra, { org_unit: "gov/north/a", owner_id: null })).toBe(true);
    expect(canSeeCertificate(ra, { org_unit: "gov/south", owner_id: null })).toBe(false);
  });

  it("limits an RA operator to its subtree whatever other role it holds, except security admin", () => {
    expect(() => requireOrgScope(principal(["ra-operator", "auditor"]), "gov/south")).toThrow(
      'org unit "gov/south" is outside this RA operator\'s subtree "gov/north"',
    );
    expect(() => requireOrgScope(principal(["ra-operator", "security-admin"]), "gov/south")).not.toThrow();
    expect(() =>
      requireUserManagement(principal(["auditor", "subscriber"]), {
        orgUnit: "gov/north",
        roles: ["subscriber"],
      }),
    ).toThrow("directory users are managed by security admins and RA operators");
  });

  it("acts in the widest role a profile lists", () => {
    const actor = actorOf(principal(["auditor", "ra-operator", "subscriber"]));
    expect(actingIn(actor, ["security-admin", "ra-operator", "subscriber"], "x").principal?.roles).toEqual([
      "ra-operator",
    ]);
    expect(actingIn(actor, ["subscriber"], "x").principal?.roles).toEqual(["subscriber"]);
    expect(() =>
      actingIn(actorOf(principal(["auditor"])), ["security-admin"], 'request "ocsp-signer" certificates'),
    ).toThrow('the auditor role may not request "ocsp-signer" certificates');
    expect(requestsForItself(principal(["subscriber", "auditor"]))).toBe(true);
    expect(requestsForItself(principal(["subscriber", "ra-operator"]))).toBe(false);
  });
});

describe.each(ENGINES)("issuance by directory users with several roles on %s", (engine) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await createHarness(engine);
    await harness.orgUnit("gov/north/city-a", "city");
  });
  afterAll(async () => harness?.close());

  const userActor = async (employeeNumber: string, roles: Role[]) => {
    const user = await harness.context.directory.create(cliActor("test"), {
      name: `User ${employeeNumber}`,
      employeeNumber,
      orgUnit: "gov/north",
      roles,
    });
    return actorOf({ ...user, kind: "user", dnsNames: [] });
  };

  it("an RA operator who is also a subscriber states subjects in its subtree", async () => {
    const actor = await userActor("M-1", ["subscriber", "ra-operator"]);
    const issued = await harness.context.ca.issue(actor, {
      csr: buildCsrPem(),
      profile: "tls-client",
      subject: { orgUnit: "gov/north/city-a", commonName: "device-7" },
      subjectAltNames: [],
    });
    expect(issued.record.subject).toContain("CN=device-7");
    expect(issued.record.org_unit).toBe("gov/north/city-a");
  });

  it("an auditor who is also a subscriber gets certificates for itself only", async () => {
    const actor = await userActor("M-2", ["auditor", "subscriber"]);
    const issued = await harness.context.ca.issue(actor, {
      csr: buildCsrPem(),
      profile: "tls-client",
      subjectAltNames: [],
    });
    expect(issued.record.subject).toContain("CN=User M-2");
    expect(issued.record.owner_id).toBe(actor.principal!.id);
    await expect(
      harness.context.ca.issue(actor, {
        csr: buildCsrPem(),
        profile: "tls-client",
        subject: { orgUnit: "gov/north", commonName: "someone" },
        subjectAltNames: [],
      }),
    ).rejects.toMatchObject({ code: "subject-not-allowed" });
    await expect(
      harness.context.ca.issue(actor, { csr: buildCsrPem(), profile: "ocsp-signer", subjectAltNames: [] }),
    ).rejects.toMatchObject({
      status: 403,
      message: 'the roles auditor, subscriber may not request "ocsp-signer" certificates',
    });
  });
});
