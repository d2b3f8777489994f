/**
 * The OpenID Provider, assembled: the parts in this folder wired to the database, the key
 * store and the clock, plus the two ways the rest of the service reaches into it: a
 * certificate's revocation or suspension and a user's disabling end the sessions that rested
 * on them (ARCHITECTURE.md data flow 2).
 */

import type { Database } from "../../db/database.js";
import { purgeExpired } from "../../db/stores/sso-interactions.js";
import type { KeyStore } from "../../hsm-adapters/key-store.js";
import type { Actor } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import type { StatusChanged } from "../revocation/revocations.js";
import { AccessTokens } from "./access-tokens.js";
import { AuthorizationFlow } from "./authorize.js";
import { BackchannelLogout } from "./backchannel-logout.js";
import { ClientAuthenticator } from "./client-authentication.js";
import { ClientRegistry } from "./clients.js";
import { ENDPOINTS } from "./discovery.js";
import { EndSession } from "./end-session.js";
import type { GrantContext } from "./grants/context.js";
import type { JwsAlgorithm } from "./jws.js";
import { OAuthEndpoints } from "./oauth-endpoints.js";
import { SsoSessions } from "./sessions.js";
import { SigningKeys } from "./signing-keys.js";
import { TokenState } from "./token-state.js";
import { TokenVerifier } from "./token-verifier.js";
import { TokenMinter } from "./tokens.js";
import { type DirectoryEntry, UserClaims } from "./user-claims.js";

const PURGE_INTERVAL_MS = 10 * 60_000;

export interface ProviderOptions {
  readonly issuer: string;
  /** The mTLS listener's public base URL (certificate login, RFC 8705 aliases), if it is on. */
  readonly mtlsBaseUrl: string | undefined;
  readonly algorithm: JwsAlgorithm;
  readonly accessTokenMs: number;
  readonly idTokenMs: number;
  readonly refreshTokenMs: number;
  readonly sessionMs: number;
  readonly keyPublishAheadMs: number;
  readonly warn: (message: string) => void;
}

export class OpenIdProvider {
  readonly clients: ClientRegistry;
  readonly keys: SigningKeys;
  readonly minter: TokenMinter;
  readonly verifier: TokenVerifier;
  readonly state: TokenState;
  readonly sessions: SsoSessions;
  readonly backchannel: BackchannelLogout;
  readonly flow: AuthorizationFlow;
  readonly endSession: EndSession;
  readonly clientAuthenticator: ClientAuthenticator;
  readonly tokens: AccessTokens;
  readonly grants: GrantContext;
  readonly users: UserClaims;
  /** The token and introspection endpoints' answers, for the Fastify routes and the lane. */
  readonly endpoints: OAuthEndpoints;

  constructor(
    readonly db: Database,
    keyStore: KeyStore,
    readonly clock: Clock,
    readonly options: ProviderOptions,
    directory: (id: string) => Promise<DirectoryEntry | undefined>,
  ) {
    this.clients = new ClientRegistry(db, clock);
    this.keys = new SigningKeys(db, keyStore, clock, {
      algorithm: options.algorithm,
      publishAheadMs: options.keyPublishAheadMs,
      maxTokenLifetimeMs: Math.max(options.accessTokenMs, options.idTokenMs),
    });
    this.minter = new TokenMinter(keyStore, this.keys, clock, options.issuer, {
      accessTokenMs: options.accessTokenMs,
      idTokenMs: options.idTokenMs,
    });
    this.verifier = new TokenVerifier(this.keys, clock, options.issuer);
    this.state = new TokenState(db, clock, options.warn);
    this.backchannel = new BackchannelLogout(this.clients, this.minter, options.warn);
    this.sessions = new SsoSessions(db, clock, this.state, this.backchannel, options.sessionMs);
    this.users = new UserClaims(directory);
    this.grants = {
      db,
      clock,
      minter: this.minter,
      sessions: this.sessions,
      state: this.state,
      users: this.users,
      refreshTokenMs: options.refreshTokenMs,
    };
    this.flow = new AuthorizationFlow(db, clock, this.clients, this.sessions, this.grants, {
      issuer: options.issuer,
      certificateLoginUrl: options.mtlsBaseUrl ? `${options.mtlsBaseUrl}/login/certificate` : undefined,
    });
    this.endSession = new EndSession(this.clients, this.sessions, this.verifier);
    this.clientAuthenticator = new ClientAuthenticator(this.clients, db, clock, [
      options.issuer,
      `${options.issuer}${ENDPOINTS.token}`,
      ...(options.mtlsBaseUrl ? [`${options.mtlsBaseUrl}${ENDPOINTS.token}`] : []),
    ]);
    this.tokens = new AccessTokens(db, clock, this.verifier, this.clients, this.state);
    this.endpoints = new OAuthEndpoints(this.clients, this.clientAuthenticator, this.grants, this.tokens);
  }

  private purgeTimer: NodeJS.Timeout | undefined;

  /** Loads the signing keys (the first key is made by `ca init`); every process that signs needs them. */
  load(): Promise<void> {
    return this.keys.reload();
  }

  /**
   * Serving only: the revocation memory (until it is loaded, revocations are read from the
   * database) and the periodic purge. The CLI does not pay for either.
   */
  async start(): Promise<void> {
    await this.state.start();
    // Expired interactions, codes, assertion jtis and revoked-token entries are never needed again.
    this.purgeTimer = setInterval(() => {
      purgeExpired(this.db, this.clock.now()).catch((error: Error) =>
        this.options.warn(`SSO: purging expired rows failed: ${error.message}`),
      );
    }, PURGE_INTERVAL_MS);
    this.purgeTimer.unref();
  }

  /** Revoked or held: the sessions that logged in with this certificate end now (released: nothing to undo). */
  async onCertificateStatus(change: StatusChanged): Promise<void> {
    if (change.status === "good") return;
    await this.sessions.end(
      { audit: { actor: "system" } },
      { certificate: { issuerId: change.issuerId, serial: change.serial } },
      change.status === "revoked" ? "certificate-revoked" : "certificate-on-hold",
    );
  }

  /** A disabled user's sessions end, and with them every grant. */
  async onPrincipalDisabled(actor: Actor, principalId: string): Promise<void> {
    await this.sessions.end(actor, { principalId }, "user-disabled");
  }

  async stop(): Promise<void> {
    clearInterval(this.purgeTimer);
    await this.backchannel.drain();
    await this.state.stop();
  }
}
