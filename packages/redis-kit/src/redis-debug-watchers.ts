import { randomUUID } from "node:crypto";
import type { DebugWatchers } from "@relaybase/server-kit";
import { call, type RedisClient, type WarnLogger } from "./client.js";

const SWEEP_EVERY = 30;
const WARN_EVERY_MS = 30_000;

export interface RedisDebugWatchersOptions {
  /** Key prefix. @default "" */
  prefix?: string;
  /** This process's id in the set. @default a random UUID */
  holderId?: string;
  /** How long a holder's entry outlives its last refresh (a killed node's watch lapses after this). @default 15_000 */
  ttlMs?: number;
  /** How often a holder refreshes its entries. @default ttlMs / 3 */
  refreshMs?: number;
  /** How often the set is read back: the longest a process takes to notice a new console. @default 1_000 */
  pollMs?: number;
  /** @default 1_000 */
  commandTimeoutMs?: number;
  /** Only read (a REST instance): holds no debug subscribers. @default false */
  readOnly?: boolean;
  logger?: WarnLogger;
}

/**
 * Which apps have a console's debug tail open anywhere in the cluster, so that every node
 * and REST instance knows, without a Redis call per event, whether to build debug events
 * at all (docs/console.md#the-debug-console).
 *
 * One sorted set, `rb:debug:watchers`: a member `<appId> <holderId>` per process holding a
 * debug subscriber of the app, scored by when it lapses. A holder adds its member when the
 * app's debug room gets its first local socket, removes it when the last leaves, and
 * refreshes its members every `refreshMs`; a killed node's members lapse after `ttlMs`.
 * Every process reads the live members every `pollMs` (one ZRANGEBYSCORE, whatever the
 * traffic) into memory, where `isWatched` looks. Idle cost: that one read a `pollMs`.
 */
export class RedisDebugWatchers implements DebugWatchers {
  readonly #key: string;
  readonly #holder: string;
  readonly #ttlMs: number;
  readonly #timeoutMs: number;
  readonly #held = new Map<string, number>();
  #watched = new Set<string>();
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  #closed = false;
  #polls = 0;
  #warnedAt = 0;

  private constructor(
    private readonly client: RedisClient,
    private readonly options: RedisDebugWatchersOptions,
  ) {
    this.#key = `${options.prefix ?? ""}rb:debug:watchers`;
    this.#holder = options.holderId ?? randomUUID();
    this.#ttlMs = options.ttlMs ?? 15_000;
    this.#timeoutMs = options.commandTimeoutMs ?? 1_000;
  }

  /** Reads the set once before resolving, so a process started after a console knows at once. */
  static async create(
    client: RedisClient,
    options: RedisDebugWatchersOptions = {},
  ): Promise<RedisDebugWatchers> {
    const watchers = new RedisDebugWatchers(client, options);
    await watchers.#poll();
    watchers.#start();
    return watchers;
  }

  isWatched(appId: string): boolean {
    return this.#watched.has(appId) || this.#held.has(appId);
  }

  hold(appId: string): void {
    if (this.options.readOnly) return;
    const n = (this.#held.get(appId) ?? 0) + 1;
    this.#held.set(appId, n);
    if (n === 1) this.#run(["ZADD", this.#key, String(Date.now() + this.#ttlMs), this.#member(appId)]);
  }

  release(appId: string): void {
    const n = (this.#held.get(appId) ?? 0) - 1;
    if (n > 0) {
      this.#held.set(appId, n);
      return;
    }
    this.#held.delete(appId);
    this.#run(["ZREM", this.#key, this.#member(appId)]);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    const members = [...this.#held.keys()].map((appId) => this.#member(appId));
    this.#held.clear();
    if (members.length > 0) {
      await call(this.client, ["ZREM", this.#key, ...members], this.#timeoutMs).catch(() => {});
    }
  }

  #member(appId: string): string {
    return `${appId} ${this.#holder}`;
  }

  #start(): void {
    const ttl = this.#ttlMs;
    const every = (ms: number, run: () => void) => {
      const timer = setInterval(run, ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(this.options.pollMs ?? 1_000, () => void this.#poll());
    if (!this.options.readOnly) every(this.options.refreshMs ?? ttl / 3, () => this.#refresh());
  }

  #refresh(): void {
    if (this.#held.size === 0) return;
    const until = String(Date.now() + this.#ttlMs);
    const pairs = [...this.#held.keys()].flatMap((appId) => [until, this.#member(appId)]);
    this.#run(["ZADD", this.#key, ...pairs]);
  }

  async #poll(): Promise<void> {
    const now = String(Date.now());
    try {
      // Lapsed members are dead holders' (the read skips them anyway); anyone may sweep them, now and then.
      if (this.#polls++ % SWEEP_EVERY === 0) {
        await call(this.client, ["ZREMRANGEBYSCORE", this.#key, "-inf", `(${now}`], this.#timeoutMs);
      }
      const members = (await call(
        this.client,
        ["ZRANGEBYSCORE", this.#key, now, "+inf"],
        this.#timeoutMs,
      )) as string[];
      if (this.#closed) return;
      this.#watched = new Set(members.map((m) => m.slice(0, m.indexOf(" "))));
    } catch (err) {
      // Keep the last known set: with Redis away the tail is best effort, never an error.
      this.#warn(err, "debug watchers not read");
    }
  }

  #run(args: string[]): void {
    if (this.#closed) return;
    call(this.client, args, this.#timeoutMs).catch((err: unknown) =>
      this.#warn(err, "debug watchers not written"),
    );
  }

  /** At most one line per WARN_EVERY_MS: a Redis outage would otherwise log every poll. */
  #warn(err: unknown, msg: string): void {
    if (Date.now() - this.#warnedAt < WARN_EVERY_MS) return;
    this.#warnedAt = Date.now();
    this.options.logger?.warn({ err }, msg);
  }
}
