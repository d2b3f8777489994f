/**
 * Certificate profiles are data (stored in the profiles table, seeded from
 * default-profiles.json). This module is their schema and the rules they express.
 */
import { Ajv } from "ajv";
import type { Role } from "../../db/stores/principals.js";
import { EXTENDED_KEY_USAGES, type ExtendedKeyUsage, KEY_USAGES, type KeyUsage } from "../pki/extensions.js";
import type { GeneralNameType } from "../pki/general-name.js";
import type { PublicKeyDescription } from "../pki/public-key.js";

type KeyKind = PublicKeyDescription["kind"];

export interface Profile {
  readonly name: string;
  readonly description: string;
  readonly validityDays: number;
  /** Allowed keys as "ec:P-256", "rsa:2048", "ed25519". */
  readonly keys: readonly string[];
  /** Key usages: one list for every key kind, or one per kind (RSA key transport vs EC key agreement). */
  readonly keyUsage: readonly KeyUsage[] | Readonly<Partial<Record<KeyKind, readonly KeyUsage[]>>>;
  readonly extendedKeyUsage: readonly ExtendedKeyUsage[];
  /** [min, max] count per subjectAltName form; a form not listed is not allowed. */
  readonly subjectAltNames: Readonly<Partial<Record<GeneralNameType, readonly [number, number]>>>;
  readonly requireSubjectAltName: boolean;
  /** CA/B BR §7.1.4.3: the commonName, if present, must be one of the SAN values. */
  readonly commonNameInSubjectAltNames: boolean;
  readonly allowWildcards: boolean;
  readonly ocspNoCheck?: boolean;
  /** Roles that may request this profile. */
  readonly requesters: readonly Role[];
  /** Whether enrolment requests are approved automatically or wait for an RA operator. */
  readonly approval: "auto" | "ra-operator";
}

const usageList = { type: "array", items: { enum: KEY_USAGES }, minItems: 1, uniqueItems: true } as const;
const range = {
  type: "array",
  items: { type: "integer", minimum: 0, maximum: 1000 },
  minItems: 2,
  maxItems: 2,
} as const;

export const PROFILE_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: [
    "description",
    "validityDays",
    "keys",
    "keyUsage",
    "extendedKeyUsage",
    "subjectAltNames",
    "requireSubjectAltName",
    "commonNameInSubjectAltNames",
    "allowWildcards",
    "requesters",
    "approval",
  ],
  properties: {
    description: { type: "string", minLength: 1, maxLength: 500 },
    validityDays: { type: "integer", minimum: 1, maximum: 3650 },
    keys: {
      type: "array",
      minItems: 1,
      uniqueItems: true,
      items: { type: "string", pattern: "^(ec:P-(256|384)|rsa:(2048|3072|4096)|ed25519)$" },
    },
    keyUsage: {
      oneOf: [
        usageList,
        {
          type: "object",
          additionalProperties: false,
          minProperties: 1,
          properties: { rsa: usageList, ec: usageList, ed25519: usageList },
        },
      ],
    },
    extendedKeyUsage: { type: "array", uniqueItems: true, items: { enum: Object.keys(EXTENDED_KEY_USAGES) } },
    subjectAltNames: {
      type: "object",
      additionalProperties: false,
      properties: { dns: range, ip: range, email: range, uri: range },
    },
    requireSubjectAltName: { type: "boolean" },
    commonNameInSubjectAltNames: { type: "boolean" },
    allowWildcards: { type: "boolean" },
    ocspNoCheck: { type: "boolean" },
    requesters: {
      type: "array",
      minItems: 1,
      uniqueItems: true,
      items: { enum: ["security-admin", "ra-operator", "auditor", "subscriber"] },
    },
    approval: { enum: ["auto", "ra-operator"] },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: true }).compile(PROFILE_SCHEMA);

export class ProfileDefinitionError extends Error {
  override readonly name = "ProfileDefinitionError";
}

/** Validates a stored or submitted definition and returns the typed profile. */
export function parseProfile(name: string, definition: unknown): Profile {
  if (!validate(definition)) {
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
    throw new ProfileDefinitionError(`profile "${name}" is invalid: ${problems}`);
  }
  return { name, ...(definition as Omit<Profile, "name">) };
}

/** The key usages this profile gives a key of this kind (undefined: the kind is not served). */
export function keyUsagesFor(profile: Profile, kind: KeyKind): readonly KeyUsage[] | undefined {
  return Array.isArray(profile.keyUsage)
    ? (profile.keyUsage as readonly KeyUsage[])
    : (profile.keyUsage as Partial<Record<KeyKind, readonly KeyUsage[]>>)[kind];
}
