/**
 * The fields of a directory user, checked the same way whether they come from one create call
 * or a row of an import file. Answers the cleaned fields or the first problem, with a stable
 * code and a message precise enough to be an import report's reason.
 */
import type { Role } from "../../db/stores/principals.js";
import { ROLES } from "../auth/principal.js";
import { nameTextProblem } from "../pki/name.js";
import { ORG_UNIT_PATH } from "./org-units.js";

export const EMPLOYEE_NUMBER = /^[A-Za-z0-9-]{1,32}$/;
/** ub-common-name (RFC 5280 Appendix A): a user's name becomes its certificates' commonName. */
export const NAME_MAX_LENGTH = 64;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** What a caller states for a new user; roles are checked here, so they may be any strings. */
export interface UserFieldsInput {
  readonly name: string;
  readonly employeeNumber: string;
  readonly orgUnit: string | null;
  readonly roles: readonly string[];
  readonly email?: string | null | undefined;
}

export interface UserFields {
  readonly name: string;
  readonly employeeNumber: string;
  readonly orgUnit: string | null;
  readonly roles: Role[];
  readonly email: string | null;
}

export interface FieldProblem {
  readonly code: string;
  readonly message: string;
}

const problem = (code: string, message: string) => ({ problem: { code, message } });

export function checkUserFields(input: UserFieldsInput): { fields: UserFields } | { problem: FieldProblem } {
  const name = input.name.trim();
  if (name.length === 0) return problem("name-invalid", "the name is empty");
  if ([...name].length > NAME_MAX_LENGTH)
    return problem("name-invalid", `the name is longer than ${NAME_MAX_LENGTH} characters`);
  const nameProblem = nameTextProblem(name);
  if (nameProblem) return problem("name-invalid", `the name ${nameProblem}`);

  const employeeNumber = input.employeeNumber.trim();
  if (!EMPLOYEE_NUMBER.test(employeeNumber))
    return problem(
      "employee-number-invalid",
      `employee number "${employeeNumber}" must be 1 to 32 letters, digits or "-"`,
    );

  const orgUnit = input.orgUnit?.trim() || null;
  if (orgUnit !== null && !ORG_UNIT_PATH.test(orgUnit))
    return problem(
      "org-unit-path-invalid",
      `org unit path "${orgUnit}" must be lower-case segments joined by "/"`,
    );

  const roles = [...new Set(input.roles.map((role) => role.trim()).filter((role) => role !== ""))];
  if (roles.length === 0)
    return problem("roles-invalid", `no role given (one or more of ${ROLES.join(", ")})`);
  const unknown = roles.find((role) => !(ROLES as readonly string[]).includes(role));
  if (unknown !== undefined)
    return problem("roles-invalid", `unknown role "${unknown}" (roles are ${ROLES.join(", ")})`);
  if (roles.includes("ra-operator") && orgUnit === null)
    return problem("org-unit-required", "an ra-operator must be given the org unit whose subtree it serves");

  const email = input.email?.trim() || null;
  if (email !== null && (email.length > 254 || !EMAIL.test(email)))
    return problem("email-invalid", `"${email}" is not an email address`);

  return { fields: { name, employeeNumber, orgUnit, roles: roles as Role[], email } };
}
