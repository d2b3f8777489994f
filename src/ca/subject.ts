/**
 * Who the certificate names. The subject never comes from the CSR: a subscriber gets the
 * name and org unit of its own account; a security admin or RA operator states them (the
 * RA operator only inside its subtree). subjectAltNames are checked against the profile's
 * rules, and a subscriber may only have the DNS names and IPs registered for it.
 */
import { isIP } from "node:net";
import { requestsForItself, requireOrgScope } from "../auth/policy.js";
import type { Actor } from "../auth/principal.js";
import { badRequest } from "../errors.js";
import type { OrgUnitDirectory } from "../identity/org-units.js";
import {
  dnsNameProblem,
  emailProblem,
  type GeneralName,
  type GeneralNameType,
  normalizeGeneralName,
} from "../pki/general-name.js";
import { type Name, nameTextProblem } from "../pki/name.js";
import { OID } from "../pki/oids.js";
import type { Profile } from "./profile.js";

export interface SubjectRequest {
  readonly commonName?: string | undefined;
  readonly orgUnit?: string | undefined;
  readonly serialNumber?: string | undefined;
}

export interface ResolvedSubject {
  readonly name: Name;
  readonly commonName: string;
  readonly orgUnit: string | null;
  readonly ownerId: string | null;
  readonly names: readonly GeneralName[];
}

const MAX_NAMES = 100;

function nameProblem(name: GeneralName, profile: Profile): string | undefined {
  switch (name.type) {
    case "dns":
      return dnsNameProblem(name.value, profile.allowWildcards);
    case "ip":
      return isIP(name.value) ? undefined : "is not an IPv4 or IPv6 address";
    case "email":
      return emailProblem(name.value);
    case "uri":
      try {
        const url = new URL(name.value);
        return /^[\x21-\x7e]+$/.test(name.value) && url.protocol.length > 1
          ? undefined
          : "is not an ASCII absolute URI";
      } catch {
        return "is not an absolute URI";
      }
  }
}

/** Normalizes, de-duplicates and checks the names against the profile. */
export function checkNames(profile: Profile, requested: readonly GeneralName[]): GeneralName[] {
  if (requested.length > MAX_NAMES)
    throw badRequest(
      "san-too-many",
      `${requested.length} subjectAltNames requested; at most ${MAX_NAMES} are allowed`,
    );
  const seen = new Set<string>();
  const names: GeneralName[] = [];
  for (const raw of requested) {
    const name = normalizeGeneralName(raw);
    const problem = nameProblem(name, profile);
    if (problem) throw badRequest("san-invalid", `subjectAltName ${name.type} "${name.value}" ${problem}`);
    const key = `${name.type}:${name.value}`;
    if (!seen.has(key)) names.push(name);
    seen.add(key);
  }
  const counts = new Map<GeneralNameType, number>();
  for (const name of names) counts.set(name.type, (counts.get(name.type) ?? 0) + 1);
  for (const [type, count] of counts) {
    const range = profile.subjectAltNames[type];
    if (!range)
      throw badRequest("san-not-allowed", `profile "${profile.name}" allows no ${type} subjectAltNames`);
    if (count > range[1])
      throw badRequest(
        "san-not-allowed",
        `profile "${profile.name}" allows at most ${range[1]} ${type} names, got ${count}`,
      );
  }
  for (const [type, range] of Object.entries(profile.subjectAltNames))
    if ((counts.get(type as GeneralNameType) ?? 0) < range[0])
      throw badRequest("san-required", `profile "${profile.name}" needs at least ${range[0]} ${type} names`);
  if (profile.requireSubjectAltName && names.length === 0)
    throw badRequest("san-required", `profile "${profile.name}" needs at least one subjectAltName`);
  return names;
}

export async function resolveSubject(
  actor: Actor,
  profile: Profile,
  orgUnits: OrgUnitDirectory,
  organization: { country: string; organization: string },
  request: { subject?: SubjectRequest | undefined; names: readonly GeneralName[] },
): Promise<ResolvedSubject> {
  const principal = actor.principal;
  let commonName: string | undefined;
  let orgUnit: string | null;
  let ownerId: string | null = null;
  let serialNumber: string | undefined;
  const names = checkNames(profile, request.names);
  const forItself = principal !== undefined && requestsForItself(principal);

  if (principal && forItself) {
    if (request.subject)
      throw badRequest(
        "subject-not-allowed",
        "a subscriber's certificates name its own account: omit `subject`",
      );
    commonName = principal.name;
    orgUnit = principal.orgUnit;
    ownerId = principal.id;
    const allowed = new Set(principal.dnsNames);
    for (const name of names)
      if ((name.type === "dns" || name.type === "ip") && !allowed.has(name.value))
        throw badRequest(
          "san-not-authorized",
          `${name.type} name "${name.value}" is not registered for this account`,
        );
  } else {
    const subject = request.subject;
    if (!subject?.orgUnit)
      throw badRequest(
        "subject-required",
        "state the certificate's subject: `subject.orgUnit` (and `commonName`)",
      );
    orgUnit = subject.orgUnit;
    if (principal) requireOrgScope(principal, orgUnit);
    commonName = subject.commonName;
    serialNumber = subject.serialNumber;
  }

  if (profile.commonNameInSubjectAltNames) {
    const candidates = names
      .filter((name) => name.type === "dns" || name.type === "ip")
      .map((name) => name.value);
    if (forItself || !commonName) commonName = candidates[0] ?? commonName;
    if (!commonName || !candidates.includes(commonName.toLowerCase()))
      throw badRequest(
        "common-name-not-in-san",
        `profile "${profile.name}" requires the commonName to be one of the subjectAltNames (CA/B BR §7.1.4.3)`,
      );
    commonName = commonName.toLowerCase();
  }
  if (!commonName) throw badRequest("subject-required", "the certificate needs `subject.commonName`");
  // The commonName becomes a UTF8String (RFC 5280 §4.1.2.4).
  const problem = nameTextProblem(commonName);
  if (problem) throw badRequest("subject-invalid", `\`subject.commonName\` ${problem}`);

  const lineage = orgUnit ? await orgUnits.lineage(orgUnit) : [];
  const name: Name = [
    { type: OID.countryName, value: organization.country },
    { type: OID.organizationName, value: organization.organization },
    ...lineage.map((unit) => ({ type: OID.organizationalUnitName, value: unit.name })),
    { type: OID.commonName, value: commonName },
    ...(serialNumber ? [{ type: OID.serialNumber, value: serialNumber }] : []),
  ];
  return { name, commonName, orgUnit, ownerId, names };
}
