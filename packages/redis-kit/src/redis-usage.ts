import { randomUUID } from "node:crypto";
import type { UsageBatch, UsageDelta } from "@relaybase/server-kit";
import { call, LuaScript, type RedisClient } from "./client.js";

/**
 * Usage deltas in Redis, between the processes that count (realtime nodes, REST
 * instances) and the control plane that rolls them into Postgres. Every key shares the
 * `{rb:usage}` hash tag, so the scripts below touch one slot.
 *
 * - `{rb:usage}:h:<hourMs>:<appId>`: hash `published`, `delivered`, `bytes_published`,
 *   `bytes_delivered`, incremented by flushes (HINCRBY);
 * - `{rb:usage}:pending`: set of those hash keys with something not yet rolled up;
 * - `{rb:usage}:batch:<id>`: marks a flushed batch as applied for `batchTtlMs`, so a
 *   flush retried after a timeout (that may have landed) is not counted twice;
 * - `{rb:usage}:claim:<id>`: what one rollup took (field `<hourMs>:<appId>|<counter>`),
 *   listed in the sorted set `{rb:usage}:claims` by the time it was taken. The take
 *   moves pending hashes into a claim in one script; the claim is deleted once the
 *   rollup committed to Postgres. A claim whose rollup died stays, and another rollup
 *   takes it over once it is older than `staleClaimMs`.
 */
export interface RedisUsageOptions {
  /** Key prefix. @default "" */
  prefix?: string;
  /** @default 2_000 */
  commandTimeoutMs?: number;
  /** How long a flushed batch id is remembered (retries after that count again). @default 3_600_000 */
  batchTtlMs?: number;
  /** Deltas per script call; a bigger batch is sent in several parts. @default 500 */
  chunkSize?: number;
}

const FIELDS = ["published", "delivered", "bytes_published", "bytes_delivered"] as const;
type Field = (typeof FIELDS)[number];
const COUNTS_OF: Record<Field, keyof Omit<UsageDelta, "appId" | "hour">> = {
  published: "published",
  delivered: "delivered",
  bytes_published: "bytesPublished",
  bytes_delivered: "bytesDelivered",
};

// KEYS: pending set, batch marker. ARGV: marker TTL ms, hash key prefix, then
// hour, appId, published, delivered, bytes_published, bytes_delivered per delta.
const FLUSH = new LuaScript(`
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then return 0 end
local names = {'published', 'delivered', 'bytes_published', 'bytes_delivered'}
for i = 3, #ARGV, 6 do
  local key = ARGV[2] .. ARGV[i] .. ':' .. ARGV[i + 1]
  for j = 1, 4 do
    if ARGV[i + 1 + j] ~= '0' then redis.call('HINCRBY', key, names[j], ARGV[i + 1 + j]) end
  end
  redis.call('SADD', KEYS[1], key)
end
return 1
`);

// KEYS: pending set, claims zset, claim hash. ARGV: max keys, now, claim id, hash key prefix.
// Takes (and deletes) up to ARGV[1] pending hashes into the claim; returns the claim.
const TAKE = new LuaScript(`
local keys = redis.call('SPOP', KEYS[1], ARGV[1])
if #keys == 0 then return {} end
for _, key in ipairs(keys) do
  local counts = redis.call('HGETALL', key)
  local tail = string.sub(key, #ARGV[4] + 1)
  for i = 1, #counts, 2 do redis.call('HINCRBY', KEYS[3], tail .. '|' .. counts[i], counts[i + 1]) end
  redis.call('DEL', key)
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return redis.call('HGETALL', KEYS[3])
`);

// KEYS: claims zset, claim hash. ARGV: claim id, latest score that may be taken over, now.
// Takes over a claim (stale, or our own after a failed rollup); nil if gone or not stale.
const RECLAIM = new LuaScript(`
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return false end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return redis.call('HGETALL', KEYS[2])
`);

// KEYS: claims zset, claim hash. ARGV: claim id.
const RELEASE = new LuaScript(`
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
`);

/** Usage taken from Redis by one rollup; `release()` once it is safely in Postgres. */
export interface UsageClaim {
  id: string;
  deltas: UsageDelta[];
}

export class RedisUsage {
  readonly #client: RedisClient;
  readonly #hashPrefix: string;
  readonly #pendingKey: string;
  readonly #claimsKey: string;
  readonly #claimPrefix: string;
  readonly #batchPrefix: string;
  readonly #timeoutMs: number;
  readonly #batchTtlMs: number;
  readonly #chunkSize: number;

  constructor(client: RedisClient, options: RedisUsageOptions = {}) {
    const prefix = `${options.prefix ?? ""}{rb:usage}`;
    this.#client = client;
    this.#hashPrefix = `${prefix}:h:`;
    this.#pendingKey = `${prefix}:pending`;
    this.#claimsKey = `${prefix}:claims`;
    this.#claimPrefix = `${prefix}:claim:`;
    this.#batchPrefix = `${prefix}:batch:`;
    this.#timeoutMs = options.commandTimeoutMs ?? 2_000;
    this.#batchTtlMs = options.batchTtlMs ?? 3_600_000;
    this.#chunkSize = options.chunkSize ?? 500;
  }

  /** The sink of a `UsageMeter`: adds a batch's deltas, once per batch id. */
  readonly sink = async (batch: UsageBatch): Promise<void> => {
    for (let start = 0, part = 0; start < batch.deltas.length; start += this.#chunkSize, part++) {
      const args = batch.deltas
        .slice(start, start + this.#chunkSize)
        .flatMap((d) => [
          String(d.hour),
          d.appId,
          String(d.published),
          String(d.delivered),
          String(d.bytesPublished),
          String(d.bytesDelivered),
        ]);
      await FLUSH.run(
        this.#client,
        [this.#pendingKey, `${this.#batchPrefix}${batch.id}:${part}`],
        [String(this.#batchTtlMs), this.#hashPrefix, ...args],
        this.#timeoutMs,
      );
    }
  };

  /** Takes and deletes up to `maxKeys` pending app-hours at once, as a new claim (undefined if none). */
  async take(maxKeys = 1_000): Promise<UsageClaim | undefined> {
    const id = randomUUID();
    const reply = (await TAKE.run(
      this.#client,
      [this.#pendingKey, this.#claimsKey, `${this.#claimPrefix}${id}`],
      [String(maxKeys), String(Date.now()), id, this.#hashPrefix],
      this.#timeoutMs,
    )) as string[];
    return reply.length === 0 ? undefined : { id, deltas: parseClaim(reply) };
  }

  /** Ids of claims taken before `olderThan` (ms since the epoch) and never released. */
  async staleClaims(olderThan: number): Promise<string[]> {
    const reply = await call(
      this.#client,
      ["ZRANGEBYSCORE", this.#claimsKey, "-inf", String(olderThan)],
      this.#timeoutMs,
    );
    return reply as string[];
  }

  /**
   * Takes over a claim if it is still there and was taken (or last taken over) no later
   * than `notAfter`; `Infinity` for one's own.
   */
  async reclaim(id: string, notAfter: number): Promise<UsageClaim | undefined> {
    const reply = (await RECLAIM.run(
      this.#client,
      [this.#claimsKey, `${this.#claimPrefix}${id}`],
      [id, String(Math.min(notAfter, Number.MAX_SAFE_INTEGER)), String(Date.now())],
      this.#timeoutMs,
    )) as string[] | null;
    return reply ? { id, deltas: parseClaim(reply) } : undefined;
  }

  /** Deletes a claim whose usage is in Postgres. */
  async release(id: string): Promise<void> {
    await RELEASE.run(this.#client, [this.#claimsKey, `${this.#claimPrefix}${id}`], [id], this.#timeoutMs);
  }
}

/** `<hour>:<appId>|<field>` → value pairs, into deltas. */
function parseClaim(flat: string[]): UsageDelta[] {
  const byKey = new Map<string, UsageDelta>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i]!;
    const bar = name.lastIndexOf("|");
    const colon = name.indexOf(":");
    const field = name.slice(bar + 1) as Field;
    if (bar < 0 || colon < 0 || !(field in COUNTS_OF)) continue;
    const hourKey = name.slice(0, bar);
    let delta = byKey.get(hourKey);
    if (!delta) {
      delta = {
        hour: Number(name.slice(0, colon)),
        appId: name.slice(colon + 1, bar),
        published: 0,
        delivered: 0,
        bytesPublished: 0,
        bytesDelivered: 0,
      };
      byKey.set(hourKey, delta);
    }
    delta[COUNTS_OF[field]] += Number(flat[i + 1]);
  }
  return [...byKey.values()];
}
