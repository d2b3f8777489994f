import type { Queryable } from "../database.js";

export type OrgUnitLevel = "province" | "region" | "city" | "county" | "department";

export interface OrgUnitRow {
  path: string;
  parent_path: string | null;
  name: string;
  level: OrgUnitLevel;
  created_at: Date;
}

export async function insertOrgUnit(
  tx: Queryable,
  unit: { path: string; parentPath: string | null; name: string; level: OrgUnitLevel },
): Promise<OrgUnitRow> {
  const { rows } = await tx.query<OrgUnitRow>(
    `INSERT INTO org_units (path, parent_path, name, level) VALUES ($1, $2, $3, $4)
     ON CONFLICT (path) DO NOTHING RETURNING path, parent_path, name, level, created_at`,
    [unit.path, unit.parentPath, unit.name, unit.level],
  );
  return rows[0]!;
}

export async function getOrgUnit(db: Queryable, path: string): Promise<OrgUnitRow | undefined> {
  const { rows } = await db.query<OrgUnitRow>(
    "SELECT path, parent_path, name, level, created_at FROM org_units WHERE path = $1",
    [path],
  );
  return rows[0];
}

/** The units at `path` and below it; every unit when `path` is absent. */
export async function listOrgUnits(db: Queryable, path?: string): Promise<OrgUnitRow[]> {
  const { rows } = await db.query<OrgUnitRow>(
    `SELECT path, parent_path, name, level, created_at FROM org_units
     WHERE $1::text IS NULL OR path = $1 OR path LIKE $1 || '/%' ORDER BY path`,
    [path ?? null],
  );
  return rows;
}
