import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import type { Logger } from "@relaybase/server-kit";
import { sql } from "drizzle-orm";
import { drizzle as drizzleNodePg } from "drizzle-orm/node-postgres";
import { migrate as migrateNodePg } from "drizzle-orm/node-postgres/migrator";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import pg from "pg";
import { startPglite } from "./pglite-start.js";
import * as schema from "./schema.js";

export { schema };

/** The database as the rest of the service sees it, whichever driver is underneath. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface OpenDatabaseOptions {
  /** Postgres connection string; without it, PGlite in `${dataDir}/pglite`. */
  databaseUrl?: string | undefined;
  dataDir: string;
  logger?: Logger;
}

export interface OpenedDatabase {
  db: Database;
  driver: "pglite" | "postgres";
  /** Answers when the database does; used by /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const migrationsFolder = fileURLToPath(new URL("../../drizzle", import.meta.url));

/** Any fixed number; all control-plane replicas take this lock to migrate one at a time. */
const MIGRATION_LOCK = 7_245_301;

/**
 * Opens the database and brings its schema up to date with the SAME migrations on both
 * drivers. Running them again is a no-op (drizzle records applied ones).
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<OpenedDatabase> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.logger);
  return openPglite(join(options.dataDir, "pglite"));
}

/**
 * Postgres' default shared_buffers (128 MB) lives in PGlite's WebAssembly memory, which
 * never shrinks: with it the embedded process sat at ~800 MiB RSS. The control plane's
 * embedded database is a few MB of accounts, apps and usage rollups, read by one backend
 * (PGlite is single-user): 1 MB of buffers (128 pages) and shared memory sized for 3
 * connections instead of 100 take ~8 MiB less than 8 MB did (docs/benchmarks.md,
 * "Embedded process memory"). How PGlite itself is started is in pglite-start.ts.
 */
const PGLITE_SETTINGS = ["-c", "shared_buffers=1MB", "-c", "max_connections=3"];

async function openPglite(dir: string): Promise<OpenedDatabase> {
  await mkdir(dir, { recursive: true });
  const client = await startPglite(dir, [...PGlite.defaultStartParams, ...PGLITE_SETTINGS]);
  const db = drizzlePglite({ client, schema });
  try {
    await migratePglite(db, { migrationsFolder });
  } catch (err) {
    await client.close();
    throw err;
  }
  return {
    db,
    driver: "pglite",
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => client.close(),
  };
}

async function openPostgres(url: string, logger?: Logger): Promise<OpenedDatabase> {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5_000 });
  // An idle client losing its server emits 'error' on the pool; unhandled, it would crash us.
  pool.on("error", (err) => logger?.warn({ err }, "postgres idle client error"));
  try {
    const client = await pool.connect();
    try {
      // Several replicas may start together; the session lock lets one migrate at a time.
      await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
      try {
        await migrateNodePg(drizzleNodePg({ client, schema }), { migrationsFolder });
      } finally {
        await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK]);
      }
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end();
    throw err;
  }
  const db = drizzleNodePg({ client: pool, schema });
  return {
    db,
    driver: "postgres",
    ping: async () => {
      await pool.query("select 1");
    },
    close: () => pool.end(),
  };
}

/** True for a Postgres unique-constraint violation (directly or wrapped by drizzle). */
export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === "23505") return true;
  }
  return false;
}
