/**
 * OpenID Connect Back-Channel Logout 1.0 §2.5: when a session ends, each relying party it
 * signed in to (and that registered a backchannel_logout_uri) receives one logout token for
 * that session, with its `sid` and `sub`: a user with several sessions gets one token per
 * session (unlike Keycloak #22914). Deliveries run in the background with a few retries; a
 * relying party that stays unreachable is logged, and the session is over regardless.
 */
import type { ClientRegistry } from "./clients.js";
import type { TokenMinter } from "./tokens.js";

const ATTEMPTS = 3;
const TIMEOUT_MS = 5000;
const RETRY_DELAY_MS = 500;

export interface EndedSession {
  readonly id: string;
  readonly subject: string;
  readonly clients: readonly string[];
}

export class BackchannelLogout {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly clients: ClientRegistry,
    private readonly minter: TokenMinter,
    private readonly warn: (message: string) => void,
  ) {}

  /** Starts the deliveries for `sessions`; resolves when they are all done (callers need not wait). */
  notify(sessions: readonly EndedSession[]): Promise<void> {
    const deliveries = sessions.flatMap((session) =>
      session.clients.map((clientId) => this.deliver(session, clientId)),
    );
    const all = Promise.all(deliveries).then(() => undefined);
    this.inFlight.add(all);
    void all.finally(() => this.inFlight.delete(all));
    return all;
  }

  private async deliver(session: EndedSession, clientId: string): Promise<void> {
    const client = await this.clients.get(clientId).catch(() => undefined);
    const uri = client?.backchannelLogoutUri;
    if (!client || !uri) return;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        const token = await this.minter.logoutToken({
          subject: session.subject,
          clientId,
          sessionId: session.id,
        });
        const response = await fetch(uri, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ logout_token: token }),
          redirect: "manual", // §2.8: the RP answers 200 or 204; a redirect is not followed
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        await response.body?.cancel();
        if (response.ok) return;
        if (response.status >= 400 && response.status < 500) {
          this.warn(
            `SSO: ${clientId} refused the logout token of session ${session.id} (HTTP ${response.status})`,
          );
          return;
        }
      } catch (error) {
        if (attempt === ATTEMPTS)
          this.warn(
            `SSO: cannot deliver the logout token of session ${session.id} to ${clientId}: ${(error as Error).message}`,
          );
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * attempt));
    }
  }

  /** Waits for the deliveries in flight (graceful shutdown, tests). */
  async drain(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }
}
