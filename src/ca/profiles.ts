/** The profiles in force, read from the database (seeded from default-profiles.json). */
import { readFileSync } from "node:fs";
import type { Database } from "../../db/database.js";
import { insertProfileIfAbsent, listProfiles } from "../../db/stores/profiles.js";
import { appendAudit } from "../audit/log.js";
import type { Actor } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import { badRequest } from "../errors.js";
import { type Profile, parseProfile } from "./profile.js";

export const DEFAULT_PROFILES: Record<string, unknown> = JSON.parse(
  readFileSync(new URL("./default-profiles.json", import.meta.url), "utf8"),
);

export class ProfileRegistry {
  private byName = new Map<string, Profile>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

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

  async reload(): Promise<void> {
    const rows = await listProfiles(this.db);
    this.byName = new Map(rows.map((row) => [row.name, parseProfile(row.name, row.definition)]));
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
