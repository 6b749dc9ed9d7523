/**
 * Test helpers: a fresh database per run in each mode (PGlite in a temp folder, or a new
 * database on the real Postgres), a control plane on port 0, and a tRPC client that
 * keeps its session cookie like a browser. Only tests import this file.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, MemoryTenantDirectory, randomId } from "@relaybase/server-kit";
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { type ControlPlane, type ControlPlaneDeps, createControlPlane } from "../app.js";
import { type ControlPlaneConfig, loadControlPlaneConfig } from "../config.js";
import type { AppRouter } from "../trpc/router.js";

export { type MailInbox, type ReceivedMail, startMailInbox } from "./mail-inbox.js";
export { type StripeStandIn, startStripeStandIn } from "./stripe-stand-in.js";
export { type ReceivedWebhook, startWebhookReceiver, type WebhookReceiver } from "./webhook-receiver.js";

export type DbMode = "pglite" | "postgres";
export const DB_MODES: DbMode[] = ["pglite", "postgres"];

/** The server Postgres tests use; each run creates and drops its own database there. */
export const TEST_POSTGRES_URL =
  process.env.RB_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  mode: DbMode;
  /** DATA_DIR and, for Postgres, DATABASE_URL. */
  env: { DATA_DIR: string; DATABASE_URL?: string };
  /** Runs SQL on the Postgres database (Postgres mode only). */
  query?: (text: string, values?: unknown[]) => Promise<pg.QueryResult>;
  drop(): Promise<void>;
}

export async function createTestDatabase(mode: DbMode): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), "rb-control-plane-"));
  const removeDir = () => rm(dataDir, { recursive: true, force: true });
  if (mode === "pglite") return { mode, env: { DATA_DIR: dataDir }, drop: removeDir };

  const name = `rb_test_${randomId(12).toLowerCase()}`;
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  return {
    mode,
    env: { DATA_DIR: dataDir, DATABASE_URL: databaseUrl },
    query: async (text, values) => {
      const client = new pg.Client(databaseUrl);
      await client.connect();
      try {
        return await client.query(text, values);
      } finally {
        await client.end();
      }
    },
    drop: async () => {
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      await removeDir();
    },
  };
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client(TEST_POSTGRES_URL);
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

export interface RunningControlPlane {
  controlPlane: ControlPlane;
  config: ControlPlaneConfig;
  directory: MemoryTenantDirectory;
  /** http://127.0.0.1:<port> */
  url: string;
  close(): Promise<void>;
}

/** The Redis tests use (login limits shared by replicas); each test keeps to its own key prefix. */
export { SHARED_REDIS_URL } from "@relaybase/redis-kit/testing";

export async function startControlPlane(
  database: TestDatabase,
  env: Record<string, string> = {},
  deps: Pick<ControlPlaneDeps, "rateLimiter" | "webhookLookup"> = {},
): Promise<RunningControlPlane> {
  const config = loadControlPlaneConfig({ ...database.env, LOG_LEVEL: "silent", ...env });
  const directory = new MemoryTenantDirectory();
  const controlPlane = await createControlPlane({
    config,
    directory,
    logger: createLogger("control-plane-test", config.LOG_LEVEL),
    ...deps,
  });
  const url = await controlPlane.app.listen({ port: 0, host: "127.0.0.1" });
  return { controlPlane, config, directory, url, close: () => controlPlane.close() };
}

/**
 * A fresh database and a control plane on it for the enclosing `describe`, torn down after
 * it. Read `.server` and `.database` inside tests (they are set by `beforeAll`).
 */
export function useControlPlane(
  mode: DbMode,
  env: Record<string, string> = {},
  deps: Pick<ControlPlaneDeps, "webhookLookup"> = {},
) {
  const fixture = {} as { database: TestDatabase; server: RunningControlPlane };
  beforeAll(async () => {
    fixture.database = await createTestDatabase(mode);
    fixture.server = await startControlPlane(fixture.database, env, deps);
  });
  afterAll(async () => {
    await fixture.server?.close();
    await fixture.database?.drop();
  });
  return fixture;
}

/** A console-like tRPC client: one cookie jar, like one browser. */
export function consoleClient(baseUrl: string) {
  const jar = { session: undefined as string | undefined, lastSetCookie: [] as string[] };
  const fetchWithCookies: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    if (jar.session) headers.set("cookie", `rb_session=${jar.session}`);
    const res = await fetch(input, { ...init, headers });
    jar.lastSetCookie = res.headers.getSetCookie();
    for (const line of jar.lastSetCookie) {
      const match = /^rb_session=([^;]*)/.exec(line);
      if (!match) continue;
      const expired = /max-age=0|expires=thu, 01 jan 1970/i.test(line) || match[1] === "";
      jar.session = expired ? undefined : match[1];
    }
    return res;
  };
  const client = createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${baseUrl}/trpc`, fetch: fetchWithCookies })],
  });
  return { client, jar };
}

/** The Relaybase code of a failed tRPC call (fails the test when the call succeeds). */
export async function relaybaseCodeOf(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call;
  } catch (err) {
    if (err instanceof TRPCClientError)
      return (err.data as { relaybaseCode?: string } | undefined)?.relaybaseCode;
    throw err;
  }
  throw new Error("expected the call to fail");
}

let counter = 0;
/** A unique email per call, so suites sharing a database never collide. */
export function uniqueEmail(prefix = "user"): string {
  counter += 1;
  return `${prefix}-${counter}-${randomId(6).toLowerCase()}@example.com`;
}
