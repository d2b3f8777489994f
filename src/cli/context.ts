/** Opens the service context for one CLI command and closes it afterwards. */
import { userInfo } from "node:os";
import { type Actor, cliActor } from "../auth/principal.js";
import { loadConfig } from "../config.js";
import { openContext, type ServiceContext } from "../context.js";

export async function withContext<T>(
  work: (context: ServiceContext, actor: Actor) => Promise<T>,
): Promise<T> {
  const context = await openContext(loadConfig());
  try {
    return await work(context, cliActor(userInfo().username));
  } finally {
    await context.close();
  }
}

/** Prints "label … done (1.2 s)" around a long step. */
export async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  process.stderr.write(`${label} … `);
  try {
    const value = await work();
    process.stderr.write(`done (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
    return value;
  } catch (error) {
    process.stderr.write("failed\n");
    throw error;
  }
}
