/**
 * One small database port for both engines: PostgreSQL through `pg` when a URL is given,
 * embedded PGlite in the data directory otherwise. Both return rows of the same shape:
 * int8 as number, bytea as Buffer, timestamptz as Date, jsonb parsed.
 */
import { mkdir, open, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { type CommitListener, CommitListeners } from "./commit-listeners.js";

export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
  /**
   * This unit of work wrote to `topic`: the database's listeners for it (`Database.onCommit`)
   * run once the write is committed, after COMMIT inside a transaction, at once outside one
   * (where each statement commits by itself); never when the transaction rolls back.
   */
  notifyOnCommit(topic: string): void;
}

export interface Database extends Queryable {
  readonly engine: "postgres" | "pglite";
  /** Statements that can run at once (pool size; 1 for PGlite, whose one connection a transaction holds). */
  readonly parallelism: number;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Calls `listener` after each commit that wrote to `topic` (see `Queryable.notifyOnCommit`); returns the unsubscribe function. */
  onCommit(topic: string, listener: CommitListener): () => void;
  /**
   * PostgreSQL only (an optional capability: PGlite is one process, so one node): a dedicated
   * connection that receives NOTIFY on `channels`, for caches that several nodes keep.
   */
  listen?(options: ListenOptions): Promise<NotificationListener>;
  close(): Promise<void>;
}

export interface ListenOptions {
  readonly channels: readonly string[];
  /** pg_stat_activity.application_name of the connection, so that other nodes can see who listens. */
  readonly applicationName: string;
  onNotification(channel: string, payload: string): void;
  /** The connection failed or ended: no more notifications will arrive. Called at most once. */
  onError(error: Error): void;
}

export interface NotificationListener {
  /** A round trip on the listening connection; rejects (and ends it) when it takes longer than `timeoutMs`. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export class DatabaseLockedError extends Error {
  override readonly name = "DatabaseLockedError";
}

const INT8 = 20;
const BYTEA = 17;

/** Distinct statement texts prepared by name at most (beyond them, statements are parsed each time). */
const PREPARED_STATEMENTS = 500;

/**
 * Names for parameterized statements, so that each pooled connection parses and plans a
 * statement once and then only binds and executes it (PostgreSQL extended query protocol,
 * "Parse" once per connection, https://www.postgresql.org/docs/15/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY):
 * the service's statements are a fixed set of texts with $n parameters, and parsing them anew
 * was a large part of the server's CPU per request. Statements without parameters (BEGIN,
 * COMMIT, migrations' DDL) keep the simple protocol.
 */
class StatementNames {
  private readonly names = new Map<string, string>();

  /** The query for `pg`: named when it has parameters and a name is still free. */
  config(sql: string, params: readonly unknown[] | undefined): pg.QueryConfig {
    const values = params as unknown[] | undefined;
    if (!values || values.length === 0) return { text: sql, values };
    let name = this.names.get(sql);
    if (name === undefined && this.names.size < PREPARED_STATEMENTS) {
      name = `s${this.names.size}`;
      this.names.set(sql, name);
    }
    return { name, text: sql, values };
  }
}

class PostgresDatabase implements Database {
  readonly engine = "postgres";
  private readonly commitListeners = new CommitListeners();
  private readonly statements = new StatementNames();
  constructor(
    private readonly pool: pg.Pool,
    readonly parallelism: number,
  ) {}

  async listen(options: ListenOptions): Promise<NotificationListener> {
    for (const channel of options.channels)
      if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`bad channel name "${channel}"`);
    const client = new pg.Client({
      connectionString: this.pool.options.connectionString,
      application_name: options.applicationName,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    let done = false;
    const fail = (error: Error) => {
      if (done) return;
      done = true;
      void client.end().catch(() => undefined);
      options.onError(error);
    };
    client.on("notification", (message) => options.onNotification(message.channel, message.payload ?? ""));
    client.on("error", fail);
    client.on("end", () => fail(new Error("the notification connection ended")));
    try {
      await client.connect();
      for (const channel of options.channels) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      done = true;
      await client.end().catch(() => undefined);
      throw error;
    }
    return {
      async ping(timeoutMs) {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            client.query("SELECT 1"),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
            }),
          ]);
        } catch (error) {
          fail(error as Error);
          throw error;
        } finally {
          clearTimeout(timer);
        }
      },
      async close() {
        done = true;
        await client.end().catch(() => undefined);
      },
    };
  }

  async query<Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    const result = await this.pool.query(this.statements.config(sql, params));
    return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
  }

  notifyOnCommit(topic: string): void {
    this.commitListeners.emit([topic]);
  }

  onCommit(topic: string, listener: CommitListener): () => void {
    return this.commitListeners.add(topic, listener);
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const topics = new Set<string>();
    const statements = this.statements;
    const tx: Queryable = {
      async query<Row>(sql: string, params?: readonly unknown[]) {
        const result = await client.query(statements.config(sql, params));
        return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
      },
      notifyOnCommit: (topic) => topics.add(topic),
    };
    try {
      await client.query("BEGIN");
      const value = await work(tx);
      await client.query("COMMIT");
      client.release();
      this.commitListeners.emit(topics);
      return value;
    } catch (error) {
      // A failed ROLLBACK means the connection is broken: destroy it rather than reuse it.
      await client.query("ROLLBACK").then(
        () => client.release(),
        (rollbackError: Error) => client.release(rollbackError),
      );
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

class PgliteDatabase implements Database {
  readonly engine = "pglite";
  readonly parallelism = 1;
  private readonly commitListeners = new CommitListeners();
  constructor(
    private readonly db: PGlite,
    private readonly releaseLock: () => Promise<void>,
  ) {}

  async query<Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    const result = await this.db.query<Row>(sql, params as unknown[]);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  }

  notifyOnCommit(topic: string): void {
    this.commitListeners.emit([topic]);
  }

  onCommit(topic: string, listener: CommitListener): () => void {
    return this.commitListeners.add(topic, listener);
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    const topics = new Set<string>();
    const value = await this.db.transaction(async (transaction) =>
      work({
        async query<Row>(sql: string, params?: readonly unknown[]) {
          const result = await transaction.query<Row>(sql, params as unknown[]);
          return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
        },
        notifyOnCommit: (topic) => topics.add(topic),
      }),
    );
    this.commitListeners.emit(topics);
    return value;
  }

  async close(): Promise<void> {
    await this.db.close();
    await this.releaseLock();
  }
}

/**
 * PGlite is one process's database: a lock file keeps a second process (a CLI command
 * while the server runs) from opening the same directory and corrupting it.
 */
async function lockDirectory(directory: string): Promise<() => Promise<void>> {
  const path = join(directory, "database.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx", 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => unlink(path).catch(() => undefined);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const pid = Number((await readFile(path, "utf8").catch(() => "")).trim());
      if (pid && pid !== process.pid && isAlive(pid))
        throw new DatabaseLockedError(
          `the embedded database in ${directory} is in use by process ${pid}; stop it or use its HTTP API`,
        );
      await unlink(path).catch(() => undefined); // stale lock from a process that is gone
    }
  }
  throw new DatabaseLockedError(`could not lock ${path}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface OpenDatabaseOptions {
  /** postgres://… to use PostgreSQL; absent for embedded PGlite. */
  readonly url?: string | undefined;
  /** Directory for PGlite's files; absent for an in-memory PGlite (tests). */
  readonly directory?: string | undefined;
  readonly poolSize?: number | undefined;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 16,
      types: {
        getTypeParser: ((oid: number, format?: string) =>
          oid === INT8
            ? Number
            : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
      },
    });
    pool.on("error", () => undefined); // an idle client's error is reported on its next use
    await pool.query("SELECT 1");
    return new PostgresDatabase(pool, options.poolSize ?? 16);
  }
  const parsers = { [BYTEA]: (text: string) => Buffer.from(text.slice(2), "hex") };
  // Loaded only when used: a PostgreSQL node does not carry the embedded engine in memory.
  const { PGlite: Engine } = await import("@electric-sql/pglite");
  if (!options.directory) return new PgliteDatabase(await Engine.create({ parsers }), async () => undefined);
  await mkdir(options.directory, { recursive: true, mode: 0o700 });
  const release = await lockDirectory(options.directory);
  try {
    return new PgliteDatabase(await Engine.create(join(options.directory, "pglite"), { parsers }), release);
  } catch (error) {
    await release();
    throw error;
  }
}
