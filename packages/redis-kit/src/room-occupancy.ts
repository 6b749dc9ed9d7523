import { randomUUID } from "node:crypto";
import {
  byRoomName,
  MemoryRoomOccupancy,
  type RoomCount,
  type RoomListOptions,
  type RoomListPage,
  roomListQuery,
  roomPage,
} from "@relaybase/server-kit";
import { LuaScript, type RedisClient, type WarnLogger } from "./client.js";

export interface RedisRoomOccupancyOptions {
  /** Key prefix. @default "" */
  prefix?: string;
  /** This node's id. @default a random UUID */
  nodeId?: string;
  /**
   * How long a node's counts outlive its last renewal: the rooms of a node killed with
   * `kill -9` stop counting within this. @default 5_000
   */
  leaseMs?: number;
  /** How often the node renews its lease. @default leaseMs / 5 */
  refreshMs?: number;
  /**
   * Subscribes and unsubscribes are written together, at most once per this interval, so the
   * hot path never waits for Redis and a burst of subscribes costs one script. @default 100
   */
  flushDelayMs?: number;
  /** @default 1_000 */
  commandTimeoutMs?: number;
  /** Only read (a REST instance): hold no lease, write nothing. @default false */
  readOnly?: boolean;
  logger?: WarnLogger;
}

/**
 * Room occupancy in Redis under per-node leases (the pattern of `ConnectionLeases`). Under
 * the `{rb:rooms}` hash tag, for each node:
 * - `count:<nodeId>:<appId>`: room → this node's subscribers (a hash);
 * - `names:<nodeId>:<appId>`: the same rooms in a sorted set (all scores 0), so a page of an
 *   app's rooms is a ZRANGEBYLEX per node, never a scan of the app's rooms;
 * - `apps:<nodeId>`: the apps with rooms on the node;
 * - `nodes`: node id → its lease's expiry (ms).
 * Every key of a node expires `leaseMs` after its last renewal, and readers skip nodes whose
 * lease has expired, so a dead node's rooms leave the counts within `leaseMs` and nothing of
 * it is left behind. A node that finds its keys gone (Redis flushed or restarted, or its lease
 * lapsed while it was stalled) writes all its counts again at its next renewal.
 */
// KEYS: nodes. ARGV: leaseMs, expiry, nodeId, key tag, reset ('1': drop the node's counts
// first), then appId/room/count triplets (count 0 removes the room).
const WRITE = new LuaScript(`
local tag, node = ARGV[4], ARGV[3]
local apps = tag .. 'apps:' .. node
local function counts(app) return tag .. 'count:' .. node .. ':' .. app end
local function names(app) return tag .. 'names:' .. node .. ':' .. app end
if ARGV[5] == '1' then
  for _, app in ipairs(redis.call('SMEMBERS', apps)) do redis.call('DEL', counts(app), names(app)) end
  redis.call('DEL', apps)
end
local touched = {}
for i = 6, #ARGV, 3 do
  local app, room = ARGV[i], ARGV[i + 1]
  if ARGV[i + 2] == '0' then
    redis.call('HDEL', counts(app), room)
    redis.call('ZREM', names(app), room)
  else
    redis.call('HSET', counts(app), room, ARGV[i + 2])
    redis.call('ZADD', names(app), 0, room)
  end
  touched[app] = true
end
for app in pairs(touched) do
  if redis.call('EXISTS', counts(app)) == 1 then
    redis.call('SADD', apps, app)
    redis.call('PEXPIRE', counts(app), ARGV[1])
    redis.call('PEXPIRE', names(app), ARGV[1])
  else
    redis.call('SREM', apps, app)
  end
end
if redis.call('EXISTS', apps) == 1 then redis.call('PEXPIRE', apps, ARGV[1]) end
redis.call('ZADD', KEYS[1], ARGV[2], node)
return 1
`);

// KEYS: nodes. ARGV: leaseMs, expiry, nodeId, key tag, now. Returns how many apps Redis holds
// for this node (the node compares it with its own: fewer means its counts were lost).
const RENEW = new LuaScript(`
local tag, node = ARGV[4], ARGV[3]
local apps = tag .. 'apps:' .. node
local list = redis.call('SMEMBERS', apps)
for _, app in ipairs(list) do
  redis.call('PEXPIRE', tag .. 'count:' .. node .. ':' .. app, ARGV[1])
  redis.call('PEXPIRE', tag .. 'names:' .. node .. ':' .. app, ARGV[1])
end
if #list > 0 then redis.call('PEXPIRE', apps, ARGV[1]) end
redis.call('ZADD', KEYS[1], ARGV[2], node)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[5])
return #list
`);

// KEYS: nodes. ARGV: now, key tag, appId, lex min, lex max, rooms per node. Returns
// room/count pairs, each live node's first rooms in the range (merged by the caller).
const LIST = new LuaScript(`
local out = {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do
  local suffix = node .. ':' .. ARGV[3]
  local names = redis.call('ZRANGEBYLEX', ARGV[2] .. 'names:' .. suffix, ARGV[4], ARGV[5], 'LIMIT', 0, ARGV[6])
  if #names > 0 then
    local counts = redis.call('HMGET', ARGV[2] .. 'count:' .. suffix, unpack(names))
    for i = 1, #names do
      out[#out + 1] = names[i]
      out[#out + 1] = counts[i] or '0'
    end
  end
end
return out
`);

// KEYS: nodes. ARGV: now, key tag, appId, room. The room's subscribers on every live node.
const SUBSCRIBERS = new LuaScript(`
local total = 0
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do
  total = total + tonumber(redis.call('HGET', ARGV[2] .. 'count:' .. node .. ':' .. ARGV[3], ARGV[4]) or '0')
end
return total
`);

/** Rooms per script when a node writes all its counts again (a script blocks Redis while it runs). */
const BATCH = 500;
const WARN_INTERVAL_MS = 10_000;

export class RedisRoomOccupancy extends MemoryRoomOccupancy {
  readonly nodeId: string;
  readonly leaseMs: number;
  readonly #client: RedisClient;
  readonly #tag: string;
  readonly #nodesKey: string;
  readonly #timeoutMs: number;
  readonly #flushDelayMs: number;
  readonly #readOnly: boolean;
  readonly #logger: WarnLogger | undefined;
  readonly #timer: NodeJS.Timeout | undefined;
  /** appId → rooms whose count changed since they were last written. */
  readonly #dirty = new Map<string, Set<string>>();
  #flushTimer: NodeJS.Timeout | undefined;
  /** Writes run one after another, so an older count can never land after a newer one. */
  #writes: Promise<void> = Promise.resolve();
  #warnedAt = 0;
  #closed = false;

  constructor(client: RedisClient, options: RedisRoomOccupancyOptions = {}) {
    super();
    this.#client = client;
    this.#tag = `${options.prefix ?? ""}{rb:rooms}:`;
    this.#nodesKey = `${this.#tag}nodes`;
    this.nodeId = options.nodeId ?? randomUUID();
    this.leaseMs = options.leaseMs ?? 5_000;
    this.#timeoutMs = options.commandTimeoutMs ?? 1_000;
    this.#flushDelayMs = options.flushDelayMs ?? 100;
    this.#readOnly = options.readOnly ?? false;
    this.#logger = options.logger;
    if (!this.#readOnly) {
      this.#timer = setInterval(
        () => void this.refresh().catch(() => {}),
        options.refreshMs ?? this.leaseMs / 5,
      );
      this.#timer.unref();
    }
  }

  override joined(appId: string, room: string): void {
    super.joined(appId, room);
    this.#changed(appId, room);
  }

  override left(appId: string, room: string): void {
    super.left(appId, room);
    this.#changed(appId, room);
  }

  #changed(appId: string, room: string): void {
    if (this.#readOnly || this.#closed) return;
    this.#markDirty(appId, room);
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      void this.flush().catch(() => {});
    }, this.#flushDelayMs);
    this.#flushTimer.unref();
  }

  /** Writes the counts that changed since the last write (also after `flushDelayMs`, by itself). */
  flush(): Promise<void> {
    return this.#serial(async () => {
      if (this.#dirty.size === 0 || this.#closed) return;
      const changed = [...this.#dirty].flatMap(([appId, rooms]) =>
        [...rooms].map((room) => [appId, room] as const),
      );
      this.#dirty.clear();
      try {
        for (let i = 0; i < changed.length; i += BATCH) {
          const batch = changed
            .slice(i, i + BATCH)
            .flatMap(([appId, room]) => [appId, room, String(this.local(appId, room))]);
          await this.#write(false, batch);
        }
      } catch (err) {
        // Kept for the next flush; the next renewal also notices what Redis is missing.
        for (const [appId, room] of changed) this.#markDirty(appId, room);
        this.#warn(err, "room occupancy write failed (kept for the next one)");
        throw err;
      }
    });
  }

  /** Renews the lease; writes every count again if Redis lost them (also on a timer). */
  refresh(): Promise<void> {
    return this.#serial(async () => {
      if (this.#closed || this.#readOnly) return;
      try {
        const now = Date.now();
        const held = Number(
          await RENEW.run(
            this.#client,
            [this.#nodesKey],
            [String(this.leaseMs), String(now + this.leaseMs), this.nodeId, this.#tag, String(now)],
            this.#timeoutMs,
          ),
        );
        // Fewer apps than this node has rooms in: Redis lost them (flushed, restarted, or the
        // lease lapsed while this node was stalled). More can only be a flush still pending.
        if (held < this.localByApp.size) await this.#rewrite();
      } catch (err) {
        this.#warn(err, "room occupancy renewal failed");
        throw err;
      }
    });
  }

  override async list(appId: string, options?: RoomListOptions): Promise<RoomListPage> {
    const { prefix, limit, after } = roomListQuery(options);
    // Room names are ASCII: "\u00ff" (UTF-8 C3 BF) sorts after every name with the prefix.
    const min = after !== undefined ? `(${after}` : prefix ? `[${prefix}` : "-";
    const max = prefix ? `[${prefix}\u00ff` : "+";
    const reply = (await LIST.run(
      this.#client,
      [this.#nodesKey],
      [String(Date.now()), this.#tag, appId, min, max, String(limit + 1)],
      this.#timeoutMs,
    )) as string[];
    // Each node's first limit+1 rooms hold every node's share of the first limit+1 rooms of
    // the merged list (a room missing from one node's list sorts after all of that list).
    const totals = new Map<string, number>();
    for (let i = 0; i + 1 < reply.length; i += 2) {
      totals.set(reply[i]!, (totals.get(reply[i]!) ?? 0) + Number(reply[i + 1]));
    }
    const rooms: RoomCount[] = [];
    for (const [room, subscribers] of totals) if (subscribers > 0) rooms.push({ room, subscribers });
    return roomPage(rooms.sort(byRoomName).slice(0, limit + 1), limit);
  }

  override async subscribers(appId: string, room: string): Promise<number> {
    return Number(
      await SUBSCRIBERS.run(
        this.#client,
        [this.#nodesKey],
        [String(Date.now()), this.#tag, appId, room],
        this.#timeoutMs,
      ),
    );
  }

  /** Withdraws this node's counts at once (a graceful stop). */
  override async close(): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#timer);
    clearTimeout(this.#flushTimer);
    if (this.#readOnly) {
      this.#closed = true;
      return;
    }
    await this.#serial(async () => {
      this.#closed = true;
      await this.#write(true, []).catch(() => {});
      await this.#client.zRem(this.#nodesKey, this.nodeId).catch(() => {});
    });
  }

  /** Replaces what Redis holds for this node with its live counts. */
  async #rewrite(): Promise<void> {
    this.#dirty.clear();
    const all = [...this.localByApp].flatMap(([appId, rooms]) =>
      [...rooms].map(([room, n]) => [appId, room, String(n)]),
    );
    for (let i = 0; i === 0 || i < all.length; i += BATCH) {
      await this.#write(i === 0, all.slice(i, i + BATCH).flat());
    }
  }

  async #write(reset: boolean, triplets: string[]): Promise<void> {
    await WRITE.run(
      this.#client,
      [this.#nodesKey],
      [
        String(this.leaseMs),
        String(Date.now() + this.leaseMs),
        this.nodeId,
        this.#tag,
        reset ? "1" : "0",
        ...triplets,
      ],
      this.#timeoutMs,
    );
  }

  #markDirty(appId: string, room: string): void {
    let rooms = this.#dirty.get(appId);
    if (!rooms) {
      rooms = new Set();
      this.#dirty.set(appId, rooms);
    }
    rooms.add(room);
  }

  #serial(task: () => Promise<void>): Promise<void> {
    const run = this.#writes.then(task);
    this.#writes = run.catch(() => {});
    return run;
  }

  #warn(err: unknown, message: string): void {
    if (Date.now() - this.#warnedAt < WARN_INTERVAL_MS) return;
    this.#warnedAt = Date.now();
    this.#logger?.warn({ err }, message);
  }
}
