import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "redis";
import { expect } from "vitest";
import type { RedisClient } from "../client.js";

/**
 * The shared Redis of the test environment (no persistence): `RB_TEST_REDIS_URL`, like
 * `RB_TEST_POSTGRES_URL` for Postgres. The one place tests take it from; each test keeps
 * to a key prefix of its own.
 */
export const SHARED_REDIS_URL = process.env.RB_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A key prefix no other test run uses. */
export const uniquePrefix = (): string => `rbtest:${randomBytes(6).toString("hex")}:`;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A throwaway `redis-server` of our own, for tests that flush, pause or kill it. */
export class OwnRedisServer {
  #process: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(port?: number): Promise<OwnRedisServer> {
    const server = new OwnRedisServer(port ?? (await freePort()));
    await server.restart();
    return server;
  }

  /** (Re)starts the server on the same port, empty. */
  async restart(): Promise<void> {
    if (this.#process) throw new Error("already running");
    const child = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: "ignore" },
    );
    this.#process = child;
    const probe = createClient({ url: this.url, socket: { reconnectStrategy: false } });
    probe.on("error", () => {});
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        await probe.connect();
        await probe.ping();
        await probe.disconnect();
        return;
      } catch {
        await sleep(50);
      }
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  /** Kills the server (SIGKILL: no goodbye to clients) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }
}

/** Deletes every key under a prefix (SCAN, not KEYS). */
export async function deleteKeys(client: RedisClient, prefix: string): Promise<void> {
  for await (const key of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
    await client.del(key);
  }
}

/**
 * Waits until `check` holds: `expect.poll` with the suite's timeout and interval
 * (vitest.config.ts), as tests/fixtures.ts does for tests/*.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what = "the condition",
): Promise<void> {
  await expect.poll(check, { message: `waiting for ${what}` }).toBe(true);
}
