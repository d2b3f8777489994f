/**
 * `ca serve` as several processes (CA_WORKERS, PostgreSQL only): the primary initializes once,
 * then forks the workers (node:cluster), which share the listening port. Each worker is a
 * whole node of the service (its own connection pool, key store sessions, OCSP memory and
 * NOTIFY listener), exactly as several machines on one database are, so nothing else needs to
 * know: one process per core is how a Node service uses more than one.
 *
 * The primary restarts a worker that dies after it started; a worker that dies before it
 * listens (bad configuration, database down) stops them all, since the next would too. On
 * SIGTERM or SIGINT it stops the workers gracefully (each finishes its requests in flight)
 * and exits when the last one has.
 */
import cluster from "node:cluster";

const RESTART_DELAY_MS = 1000;

export interface WorkerSupervision {
  /** Resolves once every worker listens. */
  readonly listening: Promise<void>;
  /** Resolves with the exit code once the workers have stopped. */
  readonly stopped: Promise<number>;
}

export function superviseWorkers(count: number, log: (message: string) => void): WorkerSupervision {
  const started = new Set<number>();
  let stopping = false;
  let exitCode = 0;
  let onListening: () => void = () => {};
  let onStopped: (code: number) => void = () => {};
  const listening = new Promise<void>((resolve) => {
    onListening = resolve;
  });
  const stopped = new Promise<number>((resolve) => {
    onStopped = resolve;
  });

  const stopAll = (reason: string) => {
    if (stopping) return;
    stopping = true;
    log(`${reason}: stopping the workers`);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
    finishIfDone();
  };
  const finishIfDone = () => {
    if (stopping && Object.keys(cluster.workers ?? {}).length === 0) onStopped(exitCode);
  };

  cluster.on("listening", (worker) => {
    started.add(worker.id);
    if (started.size >= count) onListening();
  });
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) return finishIfDone();
    if (!started.has(worker.id)) {
      exitCode = 1;
      stopAll(`worker ${worker.process.pid} exited (${signal ?? code}) before it listened`);
      return;
    }
    log(
      `worker ${worker.process.pid} exited (${signal ?? code}); starting another in ${RESTART_DELAY_MS} ms`,
    );
    setTimeout(() => {
      if (!stopping) cluster.fork();
    }, RESTART_DELAY_MS);
  });
  process.once("SIGTERM", () => stopAll("SIGTERM"));
  process.once("SIGINT", () => stopAll("SIGINT"));
  for (let i = 0; i < count; i++) cluster.fork();
  return { listening, stopped };
}
