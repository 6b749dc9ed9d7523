import { randomUUID } from "node:crypto";
import { MemoryConnectionCounter } from "@relaybase/server-kit";
import { call, LuaScript, type RedisClient } from "./client.js";

export interface ConnectionLeasesOptions {
  /** Key prefix. @default "" */
  prefix?: string;
  /** This node's id. @default a random UUID */
  nodeId?: string;
  /** How long a node's counts outlive its last refresh: a dead node's connections free up after this. @default 15_000 */
  leaseMs?: number;
  /** How often the node refreshes its lease and counts. @default leaseMs / 3 */
  refreshMs?: number;
  /** @default 1_000 */
  commandTimeoutMs?: number;
  /** Only count (a REST instance): hold no lease of its own. @default false */
  readOnly?: boolean;
}

/**
 * Cluster-wide connection counts per app from per-node leases. Each node writes its
 * counts to its own hash `{rb:conns}:node:<nodeId>` (app → count) with a TTL of
 * `leaseMs`, refreshed every `refreshMs`, and keeps its id in the sorted set
 * `{rb:conns}:nodes` scored by the lease's expiry. A count sums the hashes of nodes whose
 * lease has not expired, so a node killed with `kill -9` stops counting within
 * `leaseMs`, with no one to clean up after it. The node's own share is always its live
 * local count, not its last published one.
 */
// KEYS: node hash, nodes set. ARGV: leaseMs, expiry, nodeId, then app/count pairs.
const PUBLISH = new LuaScript(`
redis.call('DEL', KEYS[1])
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
`);

// KEYS: nodes set. ARGV: now, node key prefix, this node's id, appId. (All keys share
// the {rb:conns} hash tag, so the node hashes live in the set's slot.)
const SUM = new LuaScript(`
local nodes = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')
local total = 0
for _, node in ipairs(nodes) do
  if node ~= ARGV[3] then
    total = total + tonumber(redis.call('HGET', ARGV[2] .. node, ARGV[4]) or '0')
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
return total
`);

export class ConnectionLeases extends MemoryConnectionCounter {
  readonly nodeId: string;
  readonly #client: RedisClient;
  readonly #nodeKeyPrefix: string;
  readonly #nodesKey: string;
  readonly #leaseMs: number;
  readonly #timeoutMs: number;
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(client: RedisClient, options: ConnectionLeasesOptions = {}) {
    super();
    const prefix = options.prefix ?? "";
    this.#client = client;
    this.nodeId = options.nodeId ?? randomUUID();
    this.#nodeKeyPrefix = `${prefix}{rb:conns}:node:`;
    this.#nodesKey = `${prefix}{rb:conns}:nodes`;
    this.#leaseMs = options.leaseMs ?? 15_000;
    this.#timeoutMs = options.commandTimeoutMs ?? 1_000;
    if (!options.readOnly) {
      this.#timer = setInterval(
        () => void this.refresh().catch(() => {}),
        options.refreshMs ?? this.#leaseMs / 3,
      );
      this.#timer.unref();
    }
  }

  /** Publishes this node's counts and renews its lease (also runs on a timer). */
  async refresh(): Promise<void> {
    const counts = [...this.local].flatMap(([appId, n]) => [appId, String(n)]);
    const expiry = Date.now() + this.#leaseMs;
    await PUBLISH.run(
      this.#client,
      [`${this.#nodeKeyPrefix}${this.nodeId}`, this.#nodesKey],
      [String(this.#leaseMs), String(expiry), this.nodeId, ...counts],
      this.#timeoutMs,
    );
  }

  override async count(appId: string): Promise<number> {
    const others = await SUM.run(
      this.#client,
      [this.#nodesKey],
      [String(Date.now()), this.#nodeKeyPrefix, this.nodeId, appId],
      this.#timeoutMs,
    );
    return Number(others) + (this.local.get(appId) ?? 0);
  }

  /** Withdraws this node's counts at once (a graceful stop). */
  override async close(): Promise<void> {
    clearInterval(this.#timer);
    await call(this.#client, ["DEL", `${this.#nodeKeyPrefix}${this.nodeId}`], this.#timeoutMs).catch(
      () => {},
    );
    await call(this.#client, ["ZREM", this.#nodesKey, this.nodeId], this.#timeoutMs).catch(() => {});
  }
}
