/**
 * One JSON POST to a configured webhook: `content-type: application/json`, a bounded wait, and
 * no redirect followed (a 3xx is a failed delivery: the receiver is what was configured, not
 * wherever it points). Never throws: the caller decides what a failure means.
 */

export type Delivery =
  | { readonly ok: true; readonly status: number }
  | { readonly ok: false; readonly status?: number; readonly reason: string };

export async function postJson(url: string, body: unknown, timeoutMs: number): Promise<Delivery> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "gov-ca-expiry-notices/1" },
      body: JSON.stringify(body),
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel().catch(() => undefined); // the answer's body is not read
    const status = response.status;
    if (status >= 200 && status < 300) return { ok: true, status };
    return {
      ok: false,
      status,
      reason:
        status >= 300 && status < 400
          ? `answered HTTP ${status} (redirects are not followed)`
          : `answered HTTP ${status}`,
    };
  } catch (error) {
    const failure = error as Error & { cause?: { code?: string; message?: string } };
    if (failure.name === "TimeoutError" || failure.name === "AbortError")
      return { ok: false, reason: `did not answer within ${timeoutMs / 1000} s` };
    return { ok: false, reason: `could not be reached (${failure.cause?.code ?? failure.message})` };
  }
}

/** What logs and audit records name: scheme, host and port, never a path or query that may hold a token. */
export const webhookOrigin = (url: string): string => new URL(url).origin;
