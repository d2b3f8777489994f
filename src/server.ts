/** Starts the HTTP listener on an initialized context, with graceful shutdown. */
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.js";
import type { ServiceContext } from "./context.js";

export async function startServer(context: ServiceContext): Promise<FastifyInstance> {
  const app = await buildApp(context);
  await app.listen({ host: context.config.host, port: context.config.port });
  context.crls.start();
  context.ocsp.start();
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, "shutting down: finishing requests in flight");
    void app
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
  return app;
}
