import { randomUUID } from "node:crypto";
import { MemoryConnectionCounter } from "@relaybase/server-kit";
import { call, LuaScript, type RedisClient } from "./client.js";

export interface ConnectionLeasesOptions {
  /** Key prefix. @default "" */
  prefix?: string;
  /** This node's id. @default a random UUID */
  nodeId?: string;
  /** How long a node's counts outlive its last refresh: a dead node's connections free up after this. @default 3_000 */
  leaseMs?: number;
  /** How often the node refreshes its lease and counts. @default leaseMs / 3 */
  refreshMs?: number;
  /** @default 1_000 */
  commandTimeoutMs?: number;
  /** Only count (a REST instance): hold no lease of its own. @default false */
  readOnly?: boolean;
  /**
   * After a connection opens or closes, how soon the changed counts are written (changes
   * in that time go together), so other nodes' quota checks see them promptly rather than
   * at the next refresh. @default 0 (the next turn of the event loop)
   */
  flushDelayMs?: number;
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

// Only the apps whose counts changed. KEYS: node hash, nodes set. ARGV: leaseMs, expiry,
// nodeId, then app/count pairs (0 removes the app).
const UPDATE = new LuaScript(`
for i = 4, #ARGV, 2 do
  if ARGV[i + 1] == '0' then redis.call('HDEL', KEYS[1], ARGV[i])
  else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
`);

// KEYS: nodes set. ARGV: now, node key prefix, this node's id, appId, then nodes to leave
// out (known dead). (All keys share the {rb:conns} hash tag, so the node hashes live in
// the set's slot.)
const SUM = new LuaScript(`
local skip = { [ARGV[3]] = true }
for i = 5, #ARGV do skip[ARGV[i]] = true end
local nodes = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')
local total = 0
for _, node in ipairs(nodes) do
  if not skip[node] then
    total = total + tonumber(redis.call('HGET', ARGV[2] .. node, ARGV[4]) or '0')
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
return total
`);

// Which Redis connection each live node uses. KEYS: ids hash, nodes set. ARGV: this node's
// id, its Redis client id, now. Forgets the ids of nodes whose lease has expired.
const REGISTER = new LuaScript(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
for _, node in ipairs(redis.call('HKEYS', KEYS[1])) do
  local expiry = redis.call('ZSCORE', KEYS[2], node)
  if node ~= ARGV[1] and (not expiry or tonumber(expiry) < tonumber(ARGV[3])) then
    redis.call('HDEL', KEYS[1], node)
  end
end
return 1
`);

// KEYS: nodes set. ARGV: now, node key prefix. Returns app/count pairs summed over live nodes.
const READ_ALL = new LuaScript(`
local nodes = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')
local totals, order = {}, {}
for _, node in ipairs(nodes) do
  local pairs_ = redis.call('HGETALL', ARGV[2] .. node)
  for i = 1, #pairs_, 2 do
    local app = pairs_[i]
    if totals[app] == nil then totals[app] = 0; order[#order + 1] = app end
    totals[app] = totals[app] + tonumber(pairs_[i + 1])
  end
end
local out = {}
for _, app in ipairs(order) do out[#out + 1] = app; out[#out + 1] = tostring(totals[app]) end
return out
`);

/**
 * Connections per app across the cluster, as the live leases last published them (each
 * node refreshes every third of its lease): what the control plane samples for peak
 * connections. Reads the key layout of `ConnectionLeases`; apps with none are absent.
 */
export async function readConnectionCounts(
  client: RedisClient,
  options: { prefix?: string; commandTimeoutMs?: number } = {},
): Promise<Map<string, number>> {
  const prefix = options.prefix ?? "";
  const reply = (await READ_ALL.run(
    client,
    [`${prefix}{rb:conns}:nodes`],
    [String(Date.now()), `${prefix}{rb:conns}:node:`],
    options.commandTimeoutMs ?? 1_000,
  )) as string[];
  const counts = new Map<string, number>();
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const n = Number(reply[i + 1]);
    if (n > 0) counts.set(reply[i]!, n);
  }
  return counts;
}

export class ConnectionLeases extends MemoryConnectionCounter {
  readonly nodeId: string;
  readonly #client: RedisClient;
  readonly #nodeKeyPrefix: string;
  readonly #nodesKey: string;
  readonly #idsKey: string;
  readonly #leaseMs: number;
  readonly #timeoutMs: number;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #readOnly: boolean;
  readonly #flushDelayMs: number;
  /** Apps whose count changed since they were last written. */
  readonly #dirty = new Set<string>();
  #flushTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(client: RedisClient, options: ConnectionLeasesOptions = {}) {
    super();
    const prefix = options.prefix ?? "";
    this.#client = client;
    this.nodeId = options.nodeId ?? randomUUID();
    this.#nodeKeyPrefix = `${prefix}{rb:conns}:node:`;
    this.#nodesKey = `${prefix}{rb:conns}:nodes`;
    this.#idsKey = `${prefix}{rb:conns}:ids`;
    this.#leaseMs = options.leaseMs ?? 3_000;
    this.#timeoutMs = options.commandTimeoutMs ?? 1_000;
    this.#readOnly = options.readOnly ?? false;
    this.#flushDelayMs = options.flushDelayMs ?? 0;
    if (!options.readOnly) {
      this.#timer = setInterval(
        () => void this.refresh().catch(() => {}),
        options.refreshMs ?? this.#leaseMs / 3,
      );
      this.#timer.unref();
      void this.refresh().catch(() => {});
    }
  }

  override opened(appId: string): void {
    super.opened(appId);
    this.#changed(appId);
  }

  override closed(appId: string): void {
    super.closed(appId);
    this.#changed(appId);
  }

  /**
   * Connection quotas are checked against the cluster's sum, so a change is written soon
   * (only the changed apps), not just at the next refresh. A failed write is repaired by
   * the next refresh, which rewrites every count.
   */
  #changed(appId: string): void {
    if (this.#readOnly || this.#closed) return;
    this.#dirty.add(appId);
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      void this.flush().catch(() => {});
    }, this.#flushDelayMs);
  }

  /** Writes the counts that changed since the last write. */
  async flush(): Promise<void> {
    if (this.#dirty.size === 0 || this.#closed) return;
    const counts = [...this.#dirty].flatMap((appId) => [appId, String(this.local(appId))]);
    this.#dirty.clear();
    await UPDATE.run(
      this.#client,
      [`${this.#nodeKeyPrefix}${this.nodeId}`, this.#nodesKey],
      [String(this.#leaseMs), String(Date.now() + this.#leaseMs), this.nodeId, ...counts],
      this.#timeoutMs,
    );
  }

  /** Publishes this node's counts and renews its lease (also runs on a timer). */
  async refresh(): Promise<void> {
    if (this.#closed) return;
    this.#dirty.clear();
    const counts = [...this.localByApp].flatMap(([appId, n]) => [appId, String(n)]);
    const expiry = Date.now() + this.#leaseMs;
    await PUBLISH.run(
      this.#client,
      [`${this.#nodeKeyPrefix}${this.nodeId}`, this.#nodesKey],
      [String(this.#leaseMs), String(expiry), this.nodeId, ...counts],
      this.#timeoutMs,
    );
    // The client id changes when the connection is re-established: register it each time.
    const clientId = await call(this.#client, ["CLIENT", "ID"], this.#timeoutMs);
    await REGISTER.run(
      this.#client,
      [this.#idsKey, this.#nodesKey],
      [this.nodeId, String(clientId), String(Date.now())],
      this.#timeoutMs,
    );
  }

  /**
   * Like `elsewhere`, but leaves out nodes whose Redis connection is gone. A process that
   * crashes or is killed (`kill -9`) has its connection closed by the kernel at once, so
   * Redis knows before its lease expires: its clients, reconnecting elsewhere, are not
   * counted twice. (A machine that vanishes without closing its connections is still
   * counted until its lease expires.) For a would-be refusal only: it lists clients. A
   * node whose connection was just re-established counts as gone until its next refresh.
   */
  async liveElsewhere(appId: string): Promise<number> {
    const ids = (await call(this.#client, ["HGETALL", this.#idsKey], this.#timeoutMs)) as string[];
    const others = new Map<string, string>();
    for (let i = 0; i + 1 < ids.length; i += 2) {
      if (ids[i] !== this.nodeId) others.set(ids[i]!, ids[i + 1]!);
    }
    let dead: string[] = [];
    if (others.size > 0) {
      const list = String(
        await call(this.#client, ["CLIENT", "LIST", "ID", ...new Set(others.values())], this.#timeoutMs),
      );
      const alive = new Set([...list.matchAll(/(?:^|\s)id=(\d+)/g)].map((m) => m[1]));
      dead = [...others].filter(([, clientId]) => !alive.has(clientId)).map(([node]) => node);
    }
    return Number(await this.#sumOthers(appId, dead));
  }

  /** The other live nodes' last published counts (this node's own share is `local`). */
  override async elsewhere(appId: string): Promise<number> {
    return Number(await this.#sumOthers(appId, []));
  }

  #sumOthers(appId: string, dead: string[]) {
    return SUM.run(
      this.#client,
      [this.#nodesKey],
      [String(Date.now()), this.#nodeKeyPrefix, this.nodeId, appId, ...dead],
      this.#timeoutMs,
    );
  }

  /** Withdraws this node's counts at once (a graceful stop). */
  override async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#flushTimer);
    await call(this.#client, ["DEL", `${this.#nodeKeyPrefix}${this.nodeId}`], this.#timeoutMs).catch(
      () => {},
    );
    await call(this.#client, ["ZREM", this.#nodesKey, this.nodeId], this.#timeoutMs).catch(() => {});
    await call(this.#client, ["HDEL", this.#idsKey, this.nodeId], this.#timeoutMs).catch(() => {});
  }
}
