/**
 * The org-unit tree (province / region / city / county / department). Units are few and
 * change rarely, so the whole tree is cached in memory and reloaded on a miss or change.
 */
import type { Database } from "../../db/database.js";
import {
  insertOrgUnit,
  listOrgUnits,
  type OrgUnitLevel,
  type OrgUnitRow,
} from "../../db/stores/org-units.js";
import { appendAudit } from "../audit/log.js";
import type { Actor } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import { badRequest, conflict, notFound } from "../errors.js";
import { nameTextProblem } from "../pki/name.js";

const LEVEL_RANK: Record<OrgUnitLevel, number> = {
  province: 0,
  region: 1,
  city: 2,
  county: 3,
  department: 4,
};
export const ORG_UNIT_LEVELS = Object.keys(LEVEL_RANK) as OrgUnitLevel[];
export const ORG_UNIT_PATH = /^[a-z0-9][a-z0-9-]{0,39}(\/[a-z0-9][a-z0-9-]{0,39}){0,7}$/;

/** True when `unit` is `scope` or lies below it. */
export const inSubtree = (unit: string, scope: string): boolean =>
  unit === scope || unit.startsWith(`${scope}/`);

export class OrgUnitDirectory {
  private units = new Map<string, OrgUnitRow>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  async reload(): Promise<void> {
    this.units = new Map((await listOrgUnits(this.db)).map((unit) => [unit.path, unit]));
  }

  async find(path: string): Promise<OrgUnitRow | undefined> {
    if (!this.units.has(path)) await this.reload();
    return this.units.get(path);
  }

  async require(path: string): Promise<OrgUnitRow> {
    const unit = await this.find(path);
    if (!unit) throw badRequest("org-unit-unknown", `org unit "${path}" does not exist`);
    return unit;
  }

  /** The unit and its ancestors, root first. */
  async lineage(path: string): Promise<OrgUnitRow[]> {
    const unit = await this.require(path);
    const lineage = [unit];
    for (let parent = unit.parent_path; parent; ) {
      const row = await this.require(parent);
      lineage.unshift(row);
      parent = row.parent_path;
    }
    return lineage;
  }

  list(): OrgUnitRow[] {
    return [...this.units.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  async create(actor: Actor, unit: { path: string; name: string; level: OrgUnitLevel }): Promise<OrgUnitRow> {
    if (!ORG_UNIT_PATH.test(unit.path))
      throw badRequest(
        "org-unit-path-invalid",
        `org unit path "${unit.path}" must be lower-case segments joined by "/"`,
      );
    const nameProblem = nameTextProblem(unit.name);
    if (nameProblem) throw badRequest("org-unit-name-invalid", `the org unit's name ${nameProblem}`);
    const slash = unit.path.lastIndexOf("/");
    const parentPath = slash > 0 ? unit.path.slice(0, slash) : null;
    if (parentPath) {
      const parent = await this.require(parentPath);
      if (unit.level !== "department" && LEVEL_RANK[unit.level] <= LEVEL_RANK[parent.level])
        throw badRequest(
          "org-unit-level-invalid",
          `a ${unit.level} cannot sit below the ${parent.level} "${parent.path}" (province › region › city › county › department)`,
        );
    }
    const created = await this.db.transaction(async (tx) => {
      const row = await insertOrgUnit(tx, {
        path: unit.path,
        parentPath,
        name: unit.name,
        level: unit.level,
      });
      if (!row) throw conflict("org-unit-exists", `org unit "${unit.path}" exists already`);
      await appendAudit(tx, this.clock, [
        {
          ...actor.audit,
          action: "org-unit.create",
          target: `org-unit:${unit.path}`,
          details: { name: unit.name, level: unit.level },
        },
      ]);
      return row;
    });
    this.units.set(created.path, created);
    return created;
  }

  async get(path: string): Promise<OrgUnitRow> {
    const unit = await this.find(path);
    if (!unit) throw notFound(`org unit "${path}"`);
    return unit;
  }
}
