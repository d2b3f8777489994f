/**
 * The directory of civil servants: users with a name, an employee number, an org unit and
 * roles (which feed the RBAC of the admin API and the SSO's ID tokens), their password and
 * TOTP second factor. Every change writes its audit record in the same transaction. Views
 * never carry the password hash or the TOTP secret.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { Database } from "../../db/database.js";
import {
  disablePrincipal,
  enablePrincipal,
  lockSecurityAdmins,
  type Role,
} from "../../db/stores/principals.js";
import {
  findUserByEmployeeNumber,
  getUser,
  getUsers,
  insertUsers,
  listUsers,
  lockUser,
  type NewUser,
  setPasswordHash,
  setTotpSecret,
  takenEmployeeNumbers,
  type UserRow,
  updateUser,
} from "../../db/stores/users.js";
import { type AuditEvent, appendAudit } from "../audit/log.js";
import { canSeeUser, requireUserChange, requireUserManagement } from "../auth/policy.js";
import type { Actor } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import { badRequest, conflict, notFound, ServiceError } from "../errors.js";
import { type ChangePublisher, inOneTransaction, principalKey } from "../invalidation/configuration.js";
import { ORG_UNIT_PATH, type OrgUnitDirectory } from "./org-units.js";
import { hashPassword } from "./passwords.js";
import type { SecretSealer } from "./secret-seal.js";
import { base32Encode, otpauthUri, TOTP_SECRET_BYTES } from "./totp.js";
import { checkUserFields, EMPLOYEE_NUMBER, type UserFields, type UserFieldsInput } from "./user-fields.js";
import type { ImportRow } from "./user-import.js";

export interface DirectoryUser {
  readonly id: string;
  readonly name: string;
  readonly employeeNumber: string;
  readonly email: string | null;
  readonly orgUnit: string | null;
  readonly roles: readonly Role[];
  readonly disabledAt: Date | null;
  readonly createdAt: Date;
  readonly hasPassword: boolean;
  readonly hasTotp: boolean;
  readonly lockedUntil: Date | null;
  readonly lastLoginAt: Date | null;
}

export interface CreateUser extends UserFieldsInput {
  readonly roles: readonly Role[];
}

/** What `update` may change; a field left out stays as it is. */
export interface UserChanges {
  readonly name?: string;
  readonly email?: string | null;
  readonly orgUnit?: string | null;
  readonly roles?: readonly string[];
}

export interface RejectedRow {
  /** CSV: the file's line on which the row starts; JSON: the row's position in the array (from 1). */
  readonly line: number;
  readonly employeeNumber?: string;
  readonly reason: string;
}

export interface ImportReport {
  readonly created: DirectoryUser[];
  readonly rejected: RejectedRow[];
}

export interface ImportOptions {
  /** Called as rows are written: users written so far, and how many will be. */
  readonly onProgress?: (written: number, total: number) => void;
}

export type DisabledListener = (userId: string) => Promise<void>;

export interface UserPage {
  readonly items: DirectoryUser[];
  /** Pass as `cursor` for the next page; null on the last. */
  readonly nextCursor: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IMPORT_CHUNK = 500; // rows per INSERT and per audit append (10 parameters a record; PostgreSQL takes 65,535)

const toDirectoryUser = (row: UserRow): DirectoryUser => ({
  id: row.id,
  name: row.name,
  employeeNumber: row.employee_number,
  email: row.email,
  orgUnit: row.org_unit,
  roles: row.roles,
  disabledAt: row.disabled_at,
  createdAt: row.created_at,
  hasPassword: row.has_password,
  hasTotp: row.has_totp,
  lockedUntil: row.locked_until,
  lastLoginAt: row.last_login_at,
});

const newUser = (id: string, fields: UserFields, createdAt: Date): NewUser => ({
  id,
  name: fields.name,
  roles: fields.roles,
  org_unit: fields.orgUnit,
  employee_number: fields.employeeNumber,
  email: fields.email,
  created_at: createdAt,
});

const taken = (employeeNumber: string) =>
  conflict("employee-number-taken", `employee number "${employeeNumber}" belongs to another user`);

export class Directory {
  private readonly disabledListeners: DisabledListener[] = [];

  /**
   * `publisher`: the configuration invalidation, so that a change of roles, org unit or state
   * reaches every node's API-key cache before the call returns; by default a plain transaction.
   */
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly orgUnits: OrgUnitDirectory,
    private readonly sealer: SecretSealer,
    private readonly options: { readonly totpIssuer: string },
    private readonly publisher: ChangePublisher = inOneTransaction(db),
  ) {}

  /** `listener` runs after every disable has committed, before `disable` returns (the SSO ends sessions). */
  onDisabled(listener: DisabledListener): void {
    this.disabledListeners.push(listener);
  }

  async get(id: string): Promise<DirectoryUser | undefined> {
    if (!UUID.test(id)) return undefined;
    const row = await getUser(this.db, id);
    return row && toDirectoryUser(row);
  }

  /** The user, or 404 when there is none or the actor may not see it. */
  async require(id: string, actor?: Actor): Promise<DirectoryUser> {
    const user = await this.get(id);
    if (!user || (actor?.principal && !canSeeUser(actor.principal, user))) throw notFound(`user "${id}"`);
    return user;
  }

  async findByEmployeeNumber(employeeNumber: string): Promise<DirectoryUser | undefined> {
    if (!EMPLOYEE_NUMBER.test(employeeNumber)) return undefined;
    const row = await findUserByEmployeeNumber(this.db, employeeNumber);
    return row && toDirectoryUser(row);
  }

  /** Users in employee-number order, optionally of an org subtree; keyset-paginated. */
  async list(query: { orgUnit?: string; limit?: number; cursor?: string } = {}): Promise<UserPage> {
    const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
    if (query.cursor !== undefined && !EMPLOYEE_NUMBER.test(query.cursor))
      throw badRequest("cursor-invalid", "the cursor is not one this service handed out");
    const rows = await listUsers(this.db, { orgUnit: query.orgUnit, after: query.cursor, limit: limit + 1 });
    const items = rows.slice(0, limit).map(toDirectoryUser);
    const more = rows.length > limit;
    return { items, nextCursor: more ? items[items.length - 1]!.employeeNumber.toLowerCase() : null };
  }

  async create(actor: Actor, input: CreateUser): Promise<DirectoryUser> {
    const checked = checkUserFields(input);
    if ("problem" in checked) throw badRequest(checked.problem.code, checked.problem.message);
    const fields = checked.fields;
    if (fields.orgUnit) await this.orgUnits.require(fields.orgUnit);
    if (actor.principal) requireUserManagement(actor.principal, fields);
    const id = randomUUID();
    await this.db.transaction(async (tx) => {
      if ((await insertUsers(tx, [newUser(id, fields, this.clock.now())])).length === 0)
        throw taken(fields.employeeNumber);
      await appendAudit(tx, this.clock, [this.createEvent(actor, id, fields)]);
    });
    return this.require(id);
  }

  /**
   * Creates the valid rows in one transaction and reports the others with their reason: a
   * field that is missing or malformed, an org unit that does not exist, a role or org unit
   * the actor may not grant, or an employee number that is taken or repeats an earlier row.
   * Either every valid row is written, or (the transaction failing) none.
   */
  async import(actor: Actor, rows: readonly ImportRow[], options: ImportOptions = {}): Promise<ImportReport> {
    const rejected: RejectedRow[] = [];
    const valid: { line: number; id: string; fields: UserFields }[] = [];
    const firstLine = new Map<string, number>();
    await this.orgUnits.reload();
    for (const row of rows) {
      if ("reason" in row) {
        rejected.push(row);
        continue;
      }
      const employeeNumber = row.user.employeeNumber.trim();
      const reject = (reason: string) =>
        rejected.push(
          employeeNumber ? { line: row.line, employeeNumber, reason } : { line: row.line, reason },
        );
      const checked = checkUserFields(row.user);
      if ("problem" in checked) {
        reject(checked.problem.message);
        continue;
      }
      const fields = checked.fields;
      if (fields.orgUnit && !(await this.orgUnits.find(fields.orgUnit))) {
        reject(`org unit "${fields.orgUnit}" does not exist`);
        continue;
      }
      const refusal = actor.principal && refusalOf(() => requireUserManagement(actor.principal!, fields));
      if (refusal) {
        reject(refusal);
        continue;
      }
      const key = fields.employeeNumber.toLowerCase();
      const earlier = firstLine.get(key);
      if (earlier !== undefined) {
        reject(`employee number "${fields.employeeNumber}" appears already on line ${earlier}`);
        continue;
      }
      firstLine.set(key, row.line);
      valid.push({ line: row.line, id: randomUUID(), fields });
    }

    const now = this.clock.now();
    const ids = await this.db.transaction(async (tx) => {
      const inUse = await takenEmployeeNumbers(
        tx,
        valid.map((row) => row.fields.employeeNumber),
      );
      const writable = valid.filter((row) => {
        if (!inUse.has(row.fields.employeeNumber.toLowerCase())) return true;
        rejected.push({
          line: row.line,
          employeeNumber: row.fields.employeeNumber,
          reason: `employee number "${row.fields.employeeNumber}" belongs to another user`,
        });
        return false;
      });
      for (let start = 0; start < writable.length; start += IMPORT_CHUNK) {
        const chunk = writable.slice(start, start + IMPORT_CHUNK);
        const inserted = await insertUsers(
          tx,
          chunk.map((row) => newUser(row.id, row.fields, now)),
        );
        if (inserted.length !== chunk.length)
          throw conflict(
            "employee-number-taken",
            "an employee number of the import was taken while it ran; nothing was imported, run it again",
          );
        await appendAudit(
          tx,
          this.clock,
          chunk.map((row) => this.createEvent(actor, row.id, row.fields, row.line)),
        );
        options.onProgress?.(start + chunk.length, writable.length);
      }
      await appendAudit(tx, this.clock, [
        {
          ...actor.audit,
          action: "user.import",
          target: "directory",
          details: { rows: rows.length, created: writable.length, rejected: rejected.length },
        },
      ]);
      return writable.map((row) => row.id);
    });
    rejected.sort((a, b) => a.line - b.line);
    const created: DirectoryUser[] = [];
    for (let start = 0; start < ids.length; start += IMPORT_CHUNK)
      created.push(...(await getUsers(this.db, ids.slice(start, start + IMPORT_CHUNK))).map(toDirectoryUser));
    return { created, rejected };
  }

  /**
   * Changes a user's name, email, org unit or roles, checked as a new user's fields are. Who may
   * (policy.ts `requireUserChange`): a security admin anyone; an RA operator a subscriber of its
   * subtree who stays one, there; nobody its own roles. The last enabled security admin keeps
   * that role (409). Roles feed RBAC at once: access tokens read the directory on each call,
   * and the user's cached API keys are evicted on every node before this returns.
   */
  async update(actor: Actor, id: string, changes: UserChanges): Promise<DirectoryUser> {
    await this.require(id, actor);
    const orgUnit = changes.orgUnit?.trim();
    if (orgUnit && ORG_UNIT_PATH.test(orgUnit)) await this.orgUnits.require(orgUnit); // 400 org-unit-unknown
    const losesAdmin = changes.roles !== undefined && !changes.roles.includes("security-admin");
    await this.publisher.change([principalKey(id)], async (tx) => {
      // The security-admin lock first, then the row: every update takes them in this order.
      const admins = losesAdmin ? await lockSecurityAdmins(tx) : undefined;
      const row = await lockUser(tx, id);
      if (!row) throw notFound(`user "${id}"`);
      const before = toDirectoryUser(row);
      const checked = checkUserFields({
        name: changes.name ?? before.name,
        employeeNumber: before.employeeNumber,
        orgUnit: changes.orgUnit === undefined ? before.orgUnit : changes.orgUnit,
        roles: changes.roles ?? before.roles,
        email: changes.email === undefined ? before.email : changes.email,
      });
      if ("problem" in checked) throw badRequest(checked.problem.code, checked.problem.message);
      const after = checked.fields;
      if (actor.principal) requireUserChange(actor.principal, before, after);
      if (
        admins &&
        before.roles.includes("security-admin") &&
        !before.disabledAt &&
        !admins.some((admin) => admin !== id)
      )
        throw conflict(
          "last-security-admin",
          `user "${id}" is the last enabled security admin: make another one first`,
        );
      await updateUser(tx, id, {
        name: after.name,
        roles: after.roles,
        org_unit: after.orgUnit,
        email: after.email,
      });
      const view = (user: {
        name: string;
        email: string | null;
        orgUnit: string | null;
        roles: readonly Role[];
      }) => ({
        name: user.name,
        email: user.email,
        orgUnit: user.orgUnit,
        roles: user.roles,
      });
      await appendAudit(tx, this.clock, [
        {
          ...actor.audit,
          action: "user.update",
          target: `principal:${id}`,
          details: { before: view(before), after: view(after) },
        },
      ]);
    });
    return this.require(id);
  }

  /**
   * Disables the user (no login, no API use) and, once that has committed, runs every
   * `onDisabled` listener before returning. The disable stands even if a listener fails; the
   * first failure is then thrown, after all listeners have run.
   */
  async disable(actor: Actor, id: string): Promise<void> {
    await this.requireManageable(actor, id);
    await this.publisher.change([principalKey(id)], async (tx) => {
      if (!(await disablePrincipal(tx, id, this.clock.now())))
        throw conflict("user-disabled", `user "${id}" is disabled already`);
      await appendAudit(tx, this.clock, [
        { ...actor.audit, action: "user.disable", target: `principal:${id}` },
      ]);
    });
    const failure = (await Promise.allSettled(this.disabledListeners.map((listener) => listener(id)))).find(
      (result) => result.status === "rejected",
    );
    if (failure) throw failure.reason;
  }

  async enable(actor: Actor, id: string): Promise<void> {
    await this.requireManageable(actor, id);
    await this.db.transaction(async (tx) => {
      if (!(await enablePrincipal(tx, id))) throw conflict("user-enabled", `user "${id}" is not disabled`);
      await appendAudit(tx, this.clock, [
        { ...actor.audit, action: "user.enable", target: `principal:${id}` },
      ]);
    });
  }

  /** Sets (or replaces) the password, argon2id-hashed; also lifts a lockout. */
  async setPassword(actor: Actor, id: string, password: string): Promise<void> {
    await this.requireManageable(actor, id);
    const hash = await hashPassword(password);
    await this.db.transaction(async (tx) => {
      await setPasswordHash(tx, id, hash);
      await appendAudit(tx, this.clock, [
        { ...actor.audit, action: "user.password-set", target: `principal:${id}` },
      ]);
    });
  }

  /**
   * Enrolls a new TOTP secret (RFC 6238; 160 bits, RFC 4226 §4 R6) and answers it once, as
   * base32 and as the otpauth URI for the user's authenticator app. Stored only sealed.
   */
  async enrollTotp(actor: Actor, id: string): Promise<{ secret: string; otpauthUri: string }> {
    const user = await this.requireManageable(actor, id);
    const secret = randomBytes(TOTP_SECRET_BYTES);
    const sealed = await this.sealer.seal(secret, id);
    await this.db.transaction(async (tx) => {
      if (!(await setTotpSecret(tx, id, sealed)))
        throw conflict("totp-enrolled", `user "${id}" has a TOTP secret already: reset it first`);
      await appendAudit(tx, this.clock, [
        { ...actor.audit, action: "user.totp-enroll", target: `principal:${id}` },
      ]);
    });
    return {
      secret: base32Encode(secret),
      otpauthUri: otpauthUri(this.options.totpIssuer, user.employeeNumber, secret),
    };
  }

  /** Removes the TOTP secret (a lost phone); the user cannot log in until it enrolls again. */
  async resetTotp(actor: Actor, id: string): Promise<void> {
    await this.requireManageable(actor, id);
    await this.db.transaction(async (tx) => {
      if (!(await setTotpSecret(tx, id, null)))
        throw conflict("totp-not-enrolled", `user "${id}" has no TOTP secret`);
      await appendAudit(tx, this.clock, [
        { ...actor.audit, action: "user.totp-reset", target: `principal:${id}` },
      ]);
    });
  }

  private async requireManageable(actor: Actor, id: string): Promise<DirectoryUser> {
    const user = await this.require(id, actor);
    if (actor.principal) requireUserManagement(actor.principal, user);
    return user;
  }

  private createEvent(actor: Actor, id: string, fields: UserFields, line?: number): AuditEvent {
    return {
      ...actor.audit,
      action: "user.create",
      target: `principal:${id}`,
      details: {
        name: fields.name,
        employeeNumber: fields.employeeNumber,
        orgUnit: fields.orgUnit,
        roles: fields.roles,
        ...(line === undefined ? {} : { importLine: line }),
      },
    };
  }
}

/** The message of the ServiceError `check` throws, or undefined when it passes. */
function refusalOf(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    if (error instanceof ServiceError) return error.message;
    throw error;
  }
}
