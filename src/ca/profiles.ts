/**
 * The profiles in force, read from the database (seeded from default-profiles.json) and held
 * in memory. Security admins create and replace them (never rename or delete: certificates and
 * pending requests name them); each change commits with its audit record (old and new
 * definition) and a NOTIFY, so every listening node reloads before the call returns
 * (src/invalidation/configuration.ts). A node that cannot hear other nodes reads the table
 * afresh before each use (`fresh`). Issued certificates are never touched: a profile is read
 * only when a certificate is made.
 */
import { readFileSync } from "node:fs";
import type { Database } from "../../db/database.js";
import {
  insertProfileIfAbsent,
  listProfiles,
  lockProfile,
  replaceProfile,
} from "../../db/stores/profiles.js";
import { appendAudit } from "../audit/log.js";
import type { Actor } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import { badRequest, conflict, notFound } from "../errors.js";
import { type ChangePublisher, inOneTransaction, keyOf, profileKey } from "../invalidation/configuration.js";
import type { InvalidationTarget } from "../invalidation/cross-node.js";
import { type Profile, ProfileDefinitionError, parseProfile } from "./profile.js";

export const DEFAULT_PROFILES: Record<string, unknown> = JSON.parse(
  readFileSync(new URL("./default-profiles.json", import.meta.url), "utf8"),
);

/**
 * What the service itself relies on in a profile it uses: the OCSP responder certifies its
 * delegated signers with "ocsp-signer" (src/revocation/ocsp/signer.ts), which must stay an
 * OCSP signing profile (RFC 6960 §4.2.2.2, §4.2.2.2.1).
 */
const RELIED_ON: Readonly<Record<string, (profile: Profile) => string | undefined>> = {
  "ocsp-signer": (profile) =>
    profile.extendedKeyUsage.includes("ocspSigning") && profile.ocspNoCheck
      ? undefined
      : 'the OCSP responder issues its signers with "ocsp-signer": it must keep the ocspSigning extended key usage and ocspNoCheck (RFC 6960 §4.2.2.2)',
};

export class ProfileRegistry implements InvalidationTarget {
  private byName = new Map<string, Profile>();
  /** False while this node cannot hear other nodes' changes: `fresh` then reads the table. */
  enabled = true;
  /** This node may have missed a change (a reload failed, or it could not hear): `fresh` reads the table. */
  private stale = false;
  private loading: Promise<void> = Promise.resolve();

  private readonly publisher: ChangePublisher;

  /** `publisher`: the configuration invalidation (several nodes); by default a plain transaction. */
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    publisher?: ChangePublisher,
  ) {
    this.publisher = publisher ?? inOneTransaction(db, [this]);
  }

  /** Inserts the default profiles that are missing; existing ones are left as they are. */
  async seedDefaults(actor: Actor): Promise<string[]> {
    const added: string[] = [];
    await this.db.transaction(async (tx) => {
      for (const [name, definition] of Object.entries(DEFAULT_PROFILES)) {
        parseProfile(name, definition);
        if (await insertProfileIfAbsent(tx, name, definition)) added.push(name);
      }
      if (added.length)
        await appendAudit(
          tx,
          this.clock,
          added.map((name) => ({ ...actor.audit, action: "profile.create", target: `profile:${name}` })),
        );
    });
    return added;
  }

  /** Reads every profile; reloads run one after another, so the last one read wins. */
  reload(): Promise<void> {
    const next = this.loading.then(async () => {
      this.stale = false;
      const rows = await listProfiles(this.db);
      this.byName = new Map(rows.map((row) => [row.name, parseProfile(row.name, row.definition)]));
    });
    this.loading = next.catch(() => undefined);
    return next;
  }

  /** Before profiles are used: re-reads them if this node may have missed a change. */
  async fresh(): Promise<void> {
    if (!this.enabled || this.stale) await this.reload();
  }

  /** InvalidationTarget: a profile changed on some node (this one too). */
  async evict(key: string): Promise<void> {
    if (keyOf("profile", key) === undefined) return;
    await this.reload().catch(() => {
      this.stale = true;
    });
  }

  /** InvalidationTarget: this node may have missed changes; the next use re-reads. */
  clear(): void {
    this.stale = true;
  }

  /** A new profile, validated as seeded ones are; 409 when the name is taken. */
  async create(actor: Actor, name: string, definition: unknown): Promise<Profile> {
    const profile = this.check(name, definition);
    await this.publisher.change([profileKey(name)], async (tx) => {
      if (!(await insertProfileIfAbsent(tx, name, definition)))
        throw conflict("profile-exists", `profile "${name}" exists already: replace it with PUT`);
      await appendAudit(tx, this.clock, [
        { ...actor.audit, action: "profile.create", target: `profile:${name}`, details: { definition } },
      ]);
    });
    return profile;
  }

  /**
   * Replaces a profile's definition (its name stays); certificates already issued keep what
   * they were issued with, requests are judged by the definition in force when they are made.
   */
  async replace(actor: Actor, name: string, definition: unknown): Promise<Profile> {
    const profile = this.check(name, definition);
    await this.publisher.change([profileKey(name)], async (tx) => {
      const current = await lockProfile(tx, name);
      if (!current) throw notFound(`profile "${name}"`);
      await replaceProfile(tx, name, definition, this.clock.now());
      await appendAudit(tx, this.clock, [
        {
          ...actor.audit,
          action: "profile.replace",
          target: `profile:${name}`,
          details: { before: current.definition, after: definition },
        },
      ]);
    });
    return profile;
  }

  private check(name: string, definition: unknown): Profile {
    let profile: Profile;
    try {
      profile = parseProfile(name, definition);
    } catch (error) {
      if (error instanceof ProfileDefinitionError) throw badRequest("profile-invalid", error.message);
      throw error;
    }
    const problem = RELIED_ON[name]?.(profile);
    if (problem) throw badRequest("profile-invalid", `profile "${name}" is invalid: ${problem}`);
    return profile;
  }

  all(): Profile[] {
    return [...this.byName.values()];
  }

  find(name: string): Profile | undefined {
    return this.byName.get(name);
  }

  require(name: string): Profile {
    const profile = this.byName.get(name);
    if (!profile)
      throw badRequest(
        "profile-unknown",
        `profile "${name}" does not exist (known: ${[...this.byName.keys()].join(", ")})`,
        {
          profiles: [...this.byName.keys()],
        },
      );
    return profile;
  }
}
