/**
 * Password login with a TOTP second factor, for the SSO's login page: employee number,
 * password (argon2id) and a one-time code (RFC 6238). Every wrong input gets one generic
 * answer, so the caller learns nothing about which part was wrong or whether the employee
 * number exists (an unknown user's password is checked against a dummy hash of equal cost).
 * CA_LOGIN_MAX_FAILURES consecutive failures lock the account for CA_LOGIN_LOCKOUT_MINUTES; a
 * success starts the count afresh; one remote address gets CA_LOGIN_ADDRESS_MAX_FAILURES failures
 * in that time, whichever accounts it tries (login-throttle.ts). Each attempt writes its audit record (action
 * `login.password`, with the reason of a failure but never the password or code) in the
 * transaction that updates the counters.
 */
import type { Database, Queryable } from "../../db/database.js";
import { findLogin, type LoginRow, recordLoginFailure, recordLoginSuccess } from "../../db/stores/users.js";
import { appendAudit } from "../audit/log.js";
import { type Principal, principalFromRow } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import { ServiceError } from "../errors.js";
import { LoginThrottle } from "./login-throttle.js";
import { verifyPassword } from "./passwords.js";
import type { SecretSealer } from "./secret-seal.js";
import { matchTotp } from "./totp.js";
import { EMPLOYEE_NUMBER } from "./user-fields.js";

export interface PasswordLoginInput {
  /** The employee number (case-insensitive). */
  readonly login: string;
  readonly password: string;
  readonly otp: string;
  readonly requestId?: string;
  readonly remoteAddress?: string;
}

export interface PasswordLoginResult {
  readonly principal: Principal;
  /** Authentication Methods References (RFC 8176 §2): password and one-time password. */
  readonly amr: ["pwd", "otp"];
}

export interface PasswordLoginOptions {
  readonly maxFailures: number;
  readonly lockoutMs: number;
  /** Failures one remote address may have within `lockoutMs` (per node); 0 or absent: no limit. */
  readonly addressMaxFailures?: number;
}

/** Why a login failed, for the audit record only: the caller always gets `loginFailed()`. */
export type LoginFailure =
  | "unknown-user"
  | "disabled"
  | "no-password"
  | "wrong-password"
  | "no-totp"
  | "otp-missing"
  | "otp-wrong"
  | "otp-reused"
  | "locked"
  | "throttled";

export const loginFailed = () =>
  new ServiceError(401, "login-failed", "the employee number, password or one-time code is wrong");

export const accountLocked = (until: Date) =>
  new ServiceError(
    423,
    "account-locked",
    `too many failed logins: the account is locked; try again after ${until.toISOString()}`,
    { lockedUntil: until.toISOString() },
  );

export const loginThrottled = (until: Date) =>
  new ServiceError(
    429,
    "login-throttled",
    `too many failed logins from this address; try again after ${until.toISOString()}`,
    { retryAfter: until.toISOString() },
  );

export class PasswordLogin {
  private readonly throttle: LoginThrottle;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly sealer: SecretSealer,
    private readonly options: PasswordLoginOptions,
  ) {
    this.throttle = new LoginThrottle(options.addressMaxFailures ?? 0, options.lockoutMs);
  }

  async verify(input: PasswordLoginInput): Promise<PasswordLoginResult> {
    const now = this.clock.now();
    const address = input.remoteAddress;

    // Step 0: an address with too many recent failures waits, before any lookup or hashing.
    const waitUntil = address === undefined ? undefined : this.throttle.blockedUntil(address, now.getTime());
    if (waitUntil !== undefined) {
      await this.db.transaction((tx) => this.audit(tx, input, undefined, "throttled"));
      throw loginThrottled(new Date(waitUntil));
    }

    const login = EMPLOYEE_NUMBER.test(input.login) ? input.login : undefined;
    const found = login === undefined ? undefined : await findLogin(this.db, login);

    // Step 1: a locked account is refused before any secret is checked.
    if (found?.locked_until && found.locked_until > now) {
      await this.db.transaction((tx) => this.audit(tx, input, found, "locked"));
      if (address !== undefined) this.throttle.recordFailure(address, now.getTime());
      throw accountLocked(found.locked_until);
    }

    // Step 2: the password, against a dummy hash when there is no user or no password.
    const passwordMatches = await verifyPassword(found?.password_hash ?? null, input.password);

    // Step 3: what is wrong, if anything; the one-time code only after a right password.
    let failure: LoginFailure | undefined;
    let step: number | undefined;
    if (!found) failure = "unknown-user";
    else if (found.principal.disabled_at) failure = "disabled";
    else if (!found.password_hash) failure = "no-password";
    else if (!passwordMatches) failure = "wrong-password";
    else if (!found.totp_secret) failure = "no-totp";
    else if (input.otp === "") failure = "otp-missing";
    else {
      const secret = await this.sealer.open(found.totp_secret, found.principal.id);
      step = matchTotp(secret, input.otp, now, null);
      if (step === undefined) failure = "otp-wrong";
      else if (found.totp_last_step !== null && step <= found.totp_last_step) failure = "otp-reused"; // RFC 6238 §5.2
    }

    // Step 4: counters and audit record in one transaction. The success update itself checks
    // the step again, so two logins racing with one code cannot both pass.
    const outcome = await this.db.transaction(async (tx) => {
      if (found && failure === undefined && step !== undefined) {
        if (await recordLoginSuccess(tx, found.principal.id, now, step)) {
          await this.audit(tx, input, found, undefined);
          return { ok: true as const };
        }
        failure = "otp-reused";
      }
      const lockedUntil = found ? await this.countFailure(tx, found, now) : undefined;
      await this.audit(tx, input, found, failure!, lockedUntil);
      return { ok: false as const, lockedUntil };
    });
    if (outcome.ok) return { principal: principalFromRow(found!.principal), amr: ["pwd", "otp"] };
    if (address !== undefined) this.throttle.recordFailure(address, now.getTime());
    throw outcome.lockedUntil ? accountLocked(outcome.lockedUntil) : loginFailed();
  }

  /** Counts the failure; answers the lock's end when this one locked the account. */
  private async countFailure(tx: Queryable, found: LoginRow, now: Date): Promise<Date | undefined> {
    const until = new Date(now.getTime() + this.options.lockoutMs);
    const { locked } = await recordLoginFailure(tx, found.principal.id, this.options.maxFailures, until);
    return locked ? until : undefined;
  }

  private audit(
    tx: Queryable,
    input: PasswordLoginInput,
    found: LoginRow | undefined,
    failure: LoginFailure | undefined,
    lockedUntil?: Date,
  ): Promise<void> {
    const id = found?.principal.id;
    return appendAudit(tx, this.clock, [
      {
        actor: id ? `user:${id}` : "anonymous",
        action: "login.password",
        target: id ? `principal:${id}` : "principal:unknown",
        outcome: failure ? "failure" : "success",
        requestId: input.requestId,
        details: {
          // The login only when it has an employee number's form: people type passwords there too.
          ...(EMPLOYEE_NUMBER.test(input.login) ? { login: input.login } : {}),
          ...(failure ? { reason: failure } : { amr: ["pwd", "otp"] }),
          ...(lockedUntil ? { lockedUntil: lockedUntil.toISOString() } : {}),
          ...(input.remoteAddress ? { remoteAddress: input.remoteAddress } : {}),
        },
      },
    ]);
  }
}
