/**
 * Import files for the directory, read into rows for `Directory.import`:
 *
 * - JSON: an array of objects {name, employeeNumber, orgUnit, roles, email?} (snake_case keys
 *   as in the CSV header are taken too); `roles` an array of strings or one string as in CSV;
 *   a row's `line` is its position in the array, from 1.
 * - CSV (RFC 4180): a header row naming the columns name, employee_number, org_unit, roles and
 *   optionally email, in any order; roles separated by ";" or "|"; a row's `line` is the line
 *   of the file on which it starts (the header is line 1).
 *
 * A row that cannot be read becomes a rejected row with its reason; a file that cannot be read
 * at all (not a JSON array, no header, an unclosed quote) is a 400 `import-invalid`.
 */
import { badRequest } from "../errors.js";
import { CsvError, parseCsv } from "./csv.js";
import type { UserFieldsInput } from "./user-fields.js";

export const IMPORT_FORMATS = ["json", "csv"] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export type ImportRow =
  | { readonly line: number; readonly user: UserFieldsInput }
  | { readonly line: number; readonly employeeNumber?: string; readonly reason: string };

const COLUMNS = ["name", "employee_number", "org_unit", "roles", "email"] as const;
type Column = (typeof COLUMNS)[number];
const REQUIRED: readonly Column[] = ["name", "employee_number", "org_unit", "roles"];

const JSON_KEYS: Readonly<Record<string, Column>> = {
  name: "name",
  employeeNumber: "employee_number",
  employee_number: "employee_number",
  orgUnit: "org_unit",
  org_unit: "org_unit",
  roles: "roles",
  email: "email",
};

const splitRoles = (text: string): string[] => text.split(/[;|]/);

/** Reads an import in `format`: CSV as text; JSON as text or as the already parsed array. */
export function readUserImport(format: ImportFormat, data: unknown): ImportRow[] {
  if (format === "csv") {
    if (typeof data !== "string") throw badRequest("import-invalid", "a CSV import is text");
    return readCsv(data);
  }
  let parsed = data;
  if (typeof data === "string") {
    try {
      parsed = JSON.parse(data);
    } catch (error) {
      throw badRequest("import-invalid", `the JSON import does not parse: ${(error as Error).message}`);
    }
  }
  if (!Array.isArray(parsed)) throw badRequest("import-invalid", "a JSON import is an array of objects");
  return parsed.map((item, index) => readJsonRow(item, index + 1));
}

function readJsonRow(item: unknown, line: number): ImportRow {
  if (typeof item !== "object" || item === null || Array.isArray(item))
    return { line, reason: "the row is not an object" };
  const values: Partial<Record<Column, string | string[]>> = {};
  for (const [key, value] of Object.entries(item)) {
    const column = JSON_KEYS[key];
    if (!column) return { line, reason: `unknown field "${key}"` };
    if (value === null || value === undefined) continue;
    if (column === "roles" && Array.isArray(value) && value.every((role) => typeof role === "string")) {
      values.roles = value;
    } else if (typeof value === "string") {
      values[column] = column === "roles" ? splitRoles(value) : value;
    } else {
      return {
        line,
        reason: `field "${key}" must be ${column === "roles" ? "an array of strings or a string" : "a string"}`,
      };
    }
  }
  return toRow(line, values);
}

function readCsv(text: string): ImportRow[] {
  let records: ReturnType<typeof parseCsv>;
  try {
    records = parseCsv(text);
  } catch (error) {
    if (error instanceof CsvError) throw badRequest("import-invalid", `the CSV import ${error.message}`);
    throw error;
  }
  const [header, ...rows] = records;
  if (!header) throw badRequest("import-invalid", "the CSV import is empty: it needs a header row");
  const columns = header.fields.map((field) => field.trim().toLowerCase());
  const unknown = columns.find((column) => !(COLUMNS as readonly string[]).includes(column));
  if (header.problem || unknown !== undefined)
    throw badRequest(
      "import-invalid",
      `the CSV header names ${unknown === undefined ? "a malformed column" : `the unknown column "${unknown}"`}; columns are ${COLUMNS.join(", ")}`,
    );
  const missing = REQUIRED.filter((column) => !columns.includes(column));
  if (missing.length > 0)
    throw badRequest("import-invalid", `the CSV header lacks the column(s) ${missing.join(", ")}`);
  return rows.map((record) => {
    const employeeIndex = columns.indexOf("employee_number");
    const employeeNumber = record.fields[employeeIndex]?.trim();
    const known = employeeNumber ? { employeeNumber } : {};
    if (record.problem) return { line: record.line, ...known, reason: record.problem };
    if (record.fields.length !== columns.length)
      return {
        line: record.line,
        ...known,
        reason: `the row has ${record.fields.length} fields; the header has ${columns.length}`,
      };
    const values: Partial<Record<Column, string | string[]>> = {};
    columns.forEach((column, index) => {
      const field = record.fields[index]!;
      values[column as Column] = column === "roles" ? splitRoles(field) : field;
    });
    return toRow(record.line, values);
  });
}

function toRow(line: number, values: Partial<Record<Column, string | string[]>>): ImportRow {
  const employeeNumber =
    typeof values.employee_number === "string" ? values.employee_number.trim() : undefined;
  const known = employeeNumber ? { employeeNumber } : {};
  for (const column of ["name", "employee_number"] as const)
    if (typeof values[column] !== "string" || (values[column] as string).trim() === "")
      return { line, ...known, reason: `${column.replace("_", " ")} is missing` };
  return {
    line,
    user: {
      name: values.name as string,
      employeeNumber: values.employee_number as string,
      orgUnit: typeof values.org_unit === "string" ? values.org_unit : null,
      roles: Array.isArray(values.roles) ? values.roles : [],
      email: typeof values.email === "string" ? values.email : null,
    },
  };
}
