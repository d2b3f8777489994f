/**
 * The listeners on an initialized context: the main one (HTTP), and the mutual-TLS one (HTTPS
 * asking for client certificates, RFC 8705 §5) serving the same application; graceful shutdown
 * of both.
 */
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.js";
import type { ServiceContext } from "./context.js";
import { type MtlsListener, startMtlsListener } from "./tls/mtls-listener.js";
import { serverCredentials } from "./tls/server-credentials.js";

export interface RunningServer {
  readonly app: FastifyInstance;
  /** Undefined when CA_MTLS_PORT=0. */
  readonly mtls: MtlsListener | undefined;
  /** Stops both listeners, letting requests in flight finish; the context stays open. */
  close(): Promise<void>;
}

/** Both listeners, without the periodic jobs or signal handling (tests start the service this way). */
export async function startListeners(context: ServiceContext): Promise<RunningServer> {
  const app = await buildApp(context);
  let mtls: MtlsListener | undefined;
  try {
    await app.ready();
    const { mtls: mtlsConfig } = context.config;
    if (mtlsConfig)
      mtls = await startMtlsListener({
        host: mtlsConfig.host,
        port: mtlsConfig.port,
        credentials: await serverCredentials(context, mtlsConfig),
        issuers: context.issuers,
        handler: (request, response) => app.routing(request, response),
      });
    await app.listen({ host: context.config.host, port: context.config.port });
  } catch (error) {
    await Promise.all([app.close(), mtls?.close()]);
    throw error;
  }
  if (mtls)
    app.log.info(`mTLS listener on ${context.config.mtls?.publicUrl}: ${mtls.credentials.description}`);
  return {
    app,
    mtls,
    async close() {
      await Promise.all([app.close(), mtls?.close()]);
    },
  };
}

export async function startServer(context: ServiceContext): Promise<RunningServer> {
  // Begun before the port opens, so that /readyz says "loading" from the first request on.
  const preloading = performance.now();
  const preloaded = context.ocsp.preload().then(
    (loaded) => ({ loaded, seconds: (performance.now() - preloading) / 1000 }),
    (error: unknown) => ({ error }),
  );
  const running = await startListeners(context);
  const { app } = running;
  void preloaded.then((outcome) => {
    if ("error" in outcome)
      app.log.warn({ err: outcome.error }, "OCSP: loading pre-signed responses into memory failed");
    else
      app.log.info(
        `OCSP: ${outcome.loaded} pre-signed responses loaded into memory in ${outcome.seconds.toFixed(1)} s`,
      );
  });
  await context.configuration.ensureListening(); // profiles and API-key principals changed on other nodes
  context.crls.start();
  context.ocsp.start();
  context.expiryNotices.start(); // only with CA_EXPIRY_WEBHOOK_URL
  context.enrollmentExpiry.start();
  context.auditSealer.start(); // the periodic safety net: records a dead node left unsealed
  await context.sso.start();
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, "shutting down: finishing requests in flight");
    void running
      .close()
      .then(() => context.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          app.log.error({ err: error }, "shutdown failed");
          process.exit(1);
        },
      );
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  return running;
}
