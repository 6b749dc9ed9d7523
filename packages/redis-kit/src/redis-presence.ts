import { randomUUID } from "node:crypto";
import { type PresencePage, RelaybaseError } from "@relaybase/protocol";
import {
  decodePresenceCursor,
  encodePresenceCursor,
  memberOf,
  type PresenceChange,
  type PresenceEntry,
  type PresenceOwner,
  type PresencePageOptions,
  type PresenceStore,
  pageLimit,
  roomKey,
} from "@relaybase/server-kit";
import { call, LuaScript, type RedisClient, type WarnLogger } from "./client.js";

export interface RedisPresenceOptions {
  /** Key prefix. @default "" */
  prefix?: string;
  /** This node's id. @default a random UUID */
  nodeId?: string;
  /**
   * How long a node's members outlive its last renewal: a node killed with `kill -9` has its
   * members removed (and their leave announced by another node) within about this plus
   * `refreshMs`. @default 5_000
   */
  leaseMs?: number;
  /** How often the node renews its lease and looks for lapsed ones. @default leaseMs / 5 */
  refreshMs?: number;
  /** @default 1_000 */
  commandTimeoutMs?: number;
  /** Only read (a REST instance): hold no lease, sweep nothing. @default false */
  readOnly?: boolean;
  logger?: WarnLogger;
}

/**
 * Presence in Redis under per-node leases (DESIGN §9; the layout of `ConnectionLeases`).
 * Under the `{rb:pres}` hash tag:
 * - `users:<roomKey>`: the room's user ids (a sorted set, all scores 0: pages by user id);
 * - `member:<roomKey>|<userId>`: the user's connections in the room (connection id →
 *   `<ts>\n<nodeId>\n<data JSON>`); the newest is the member shown. The node is kept because
 *   a connection recovered by Socket.IO on another node keeps its id: only the node that
 *   holds it now may remove it;
 * - `node:<nodeId>`: the entries a node holds (`<connectionId><appId>|<room>|<userId>`),
 *   so that when its lease lapses another node can remove them;
 * - `nodes`: node id → its lease's expiry (ms); `epoch`: a random value that vanishes when
 *   Redis loses its data, so nodes can tell a flush from a lapse of their own lease.
 *
 * Every change of a user's entries runs in one script that returns what the room sees
 * (enter / update / leave / nothing), so a change is announced once however many nodes
 * race. Each node renews its lease every `refreshMs`; whichever live node first finds a
 * lapsed lease removes that node's entries one by one and announces each leave. A node
 * that finds its own lease lapsed (it was stalled or cut off), or Redis emptied, writes
 * its entries again: announced as enters after a lapse (others saw them leave), silently
 * after a flush (nobody saw anything change).
 */
const VISIBLE = `
local function visible(key)
  local all = redis.call('HGETALL', key)
  local bc, bt, bd = nil, -1, nil
  for i = 1, #all, 2 do
    local v = all[i + 1]
    local a = string.find(v, '\\n', 1, true)
    local b = string.find(v, '\\n', a + 1, true)
    local t = tonumber(string.sub(v, 1, a - 1))
    if t > bt or (t == bt and all[i] > bc) then bc, bt, bd = all[i], t, string.sub(v, b + 1) end
  end
  return bc, bd
end
`;

// KEYS: users, member hash, node index, nodes. ARGV: userId, connectionId, ts, data, maxMembers,
// index entry, nodeId, lease expiry. A node without a lease (its first renewal not through yet,
// or swept while it was cut off) gets one here, so that no entry can exist that no lapse would
// sweep; the last reply element says so ('1'), and the node then writes all its entries again.
const PUT = new LuaScript(`${VISIBLE}
local registered = '0'
if not redis.call('ZSCORE', KEYS[4], ARGV[7]) then
  redis.call('ZADD', KEYS[4], ARGV[8], ARGV[7])
  registered = '1'
end
local present = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not present and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[5]) then return {'full', '', '', registered} end
local bc, bd = nil, nil
if present then bc, bd = visible(KEYS[2]) end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3] .. '\\n' .. ARGV[7] .. '\\n' .. ARGV[4])
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('SADD', KEYS[3], ARGV[6])
local ac, ad = visible(KEYS[2])
if not bc then return {'enter', ac, ad, registered} end
if ac ~= bc or ad ~= bd then return {'update', ac, ad, registered} end
return {'none', '', '', registered}
`);

// KEYS: users, member hash, node index. ARGV: userId, connectionId, index entry, nodeId.
// An entry another node wrote since (the connection recovered there) is not this node's to remove.
const REMOVE = new LuaScript(`${VISIBLE}
redis.call('SREM', KEYS[3], ARGV[3])
local v = redis.call('HGET', KEYS[2], ARGV[2])
if not v then return {'none'} end
local a = string.find(v, '\\n', 1, true)
local b = string.find(v, '\\n', a + 1, true)
if string.sub(v, a + 1, b - 1) ~= ARGV[4] then return {'none'} end
local bc, bd = visible(KEYS[2])
redis.call('HDEL', KEYS[2], ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return {'leave', bc, bd}
end
local ac, ad = visible(KEYS[2])
if ac ~= bc or ad ~= bd then return {'update', ac, ad} end
return {'none'}
`);

// KEYS: users. ARGV: lex start, limit, member hash prefix. Returns {more, {userId, connectionId, data, …}}.
const PAGE = new LuaScript(`${VISIBLE}
local limit = tonumber(ARGV[2])
local users = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], '+', 'LIMIT', 0, limit + 1)
local out = {}
local n = math.min(#users, limit)
for i = 1, n do
  local c, d = visible(ARGV[3] .. users[i])
  if c then out[#out + 1] = users[i]; out[#out + 1] = c; out[#out + 1] = d end
end
return {#users > n and 1 or 0, out}
`);

// KEYS: nodes, epoch. ARGV: nodeId, new expiry, a new epoch (used if there is none), now.
// Returns {1 if this node's lease had lapsed or was gone, the epoch}.
const RENEW = new LuaScript(`
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local e = redis.call('GET', KEYS[2])
if not e then redis.call('SET', KEYS[2], ARGV[3]); e = ARGV[3] end
local lapsed = 0
if not old or tonumber(old) < tonumber(ARGV[4]) then lapsed = 1 end
return {lapsed, e}
`);

// Forgets a swept node once its index is empty and its lease still lapsed. KEYS: nodes, node index. ARGV: nodeId, now.
const FORGET = new LuaScript(`
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
if expiry and tonumber(expiry) < tonumber(ARGV[2]) and redis.call('SCARD', KEYS[2]) == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
`);

const WARN_INTERVAL_MS = 10_000;
/** Entries per round of a sweep or a re-assertion (scripts in flight together). */
const BATCH = 200;
/** A connection id is Socket.IO's 20 characters: the index entry starts with one. */
const CONNECTION_ID_LENGTH = 20;

export class RedisPresence implements PresenceStore {
  readonly nodeId: string;
  readonly leaseMs: number;
  readonly #client: RedisClient;
  readonly #tag: string;
  readonly #refreshMs: number;
  readonly #timeoutMs: number;
  readonly #readOnly: boolean;
  readonly #logger: WarnLogger | undefined;
  #owner: PresenceOwner | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #epoch: string | undefined;
  /** When a failed tick was last logged: while Redis is away, once per WARN_INTERVAL_MS. */
  #warnedAt = 0;
  /** A put found this node without a lease: the next tick writes every entry again. */
  #unregistered = false;
  #closed = false;

  constructor(client: RedisClient, options: RedisPresenceOptions = {}) {
    this.#client = client;
    this.#tag = `${options.prefix ?? ""}{rb:pres}:`;
    this.nodeId = options.nodeId ?? randomUUID();
    this.leaseMs = options.leaseMs ?? 5_000;
    this.#refreshMs = options.refreshMs ?? this.leaseMs / 5;
    this.#timeoutMs = options.commandTimeoutMs ?? 1_000;
    this.#readOnly = options.readOnly ?? false;
    this.#logger = options.logger;
  }

  attach(owner: PresenceOwner): void {
    if (this.#readOnly || this.#owner) return;
    this.#owner = owner;
    this.#timer = setInterval(() => void this.tick(), this.#refreshMs);
    this.#timer.unref();
    void this.tick();
  }

  async put(entry: PresenceEntry, maxMembers: number): Promise<PresenceChange | undefined> {
    const reply = (await PUT.run(
      this.#client,
      [...this.#keys(entry, this.nodeId), `${this.#tag}nodes`],
      [
        entry.userId,
        entry.connectionId,
        String(entry.ts),
        entry.data,
        String(maxMembers),
        indexEntry(entry),
        this.nodeId,
        String(Date.now() + this.leaseMs),
      ],
      this.#timeoutMs,
    )) as string[];
    if (reply[3] === "1" && this.#epoch !== undefined && !this.#readOnly) {
      this.#unregistered = true;
      void this.tick();
    }
    if (reply[0] === "full") throw new RelaybaseError("PRESENCE_ROOM_FULL");
    return changeFrom(entry, reply);
  }

  remove(entry: PresenceEntry): Promise<PresenceChange | undefined> {
    return this.#removeFrom(entry, this.nodeId);
  }

  async page(appId: string, room: string, options: PresencePageOptions = {}): Promise<PresencePage> {
    const limit = pageLimit(options.limit);
    const after = decodePresenceCursor(options.cursor);
    const key = roomKey(appId, room);
    const [more, flat] = (await PAGE.run(
      this.#client,
      [`${this.#tag}users:${key}`],
      [after === undefined ? "-" : `(${after}`, String(limit), `${this.#tag}member:${key}|`],
      this.#timeoutMs,
    )) as [number, string[]];
    const members = [];
    for (let i = 0; i + 2 < flat.length; i += 3) members.push(memberOf(flat[i]!, flat[i + 1]!, flat[i + 2]!));
    const last = members.at(-1);
    return more === 1 && last ? { members, nextCursor: encodePresenceCursor(last.userId) } : { members };
  }

  async count(appId: string, room: string): Promise<number> {
    return Number(
      await call(this.#client, ["ZCARD", `${this.#tag}users:${roomKey(appId, room)}`], this.#timeoutMs),
    );
  }

  /** Renews the lease, writes the entries again if Redis lost them, sweeps lapsed nodes (also on a timer). */
  tick(): Promise<void> {
    this.#ticking ??= (async () => {
      try {
        await this.#renew();
        await this.#sweep();
      } catch (err) {
        if (!this.#closed && Date.now() - this.#warnedAt >= WARN_INTERVAL_MS) {
          this.#warnedAt = Date.now();
          this.#logger?.warn({ err }, "presence lease renewal or sweep failed (retrying)");
        }
      } finally {
        this.#ticking = undefined;
      }
    })();
    return this.#ticking;
  }

  /**
   * Stops renewing. The entries stay until the lease lapses and another node sweeps them:
   * a draining node's clients enter again elsewhere meanwhile, so others see no leave.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#ticking;
  }

  async #renew(): Promise<void> {
    if (this.#closed) return;
    const now = Date.now();
    const [lapsed, epoch] = (await RENEW.run(
      this.#client,
      [`${this.#tag}nodes`, `${this.#tag}epoch`],
      [this.nodeId, String(now + this.leaseMs), randomUUID(), String(now)],
      this.#timeoutMs,
    )) as [number, string];
    const flushed = this.#epoch !== undefined && epoch !== this.#epoch;
    const first = this.#epoch === undefined;
    const unregistered = this.#unregistered;
    this.#unregistered = false;
    this.#epoch = epoch;
    if (lapsed === 1 || flushed || unregistered) await this.#reassert(!flushed && !first);
  }

  /** Writes every entry this node holds again; `announce`: others saw them leave (a lapsed lease). */
  async #reassert(announce: boolean): Promise<void> {
    const entries = [...(this.#owner?.entries() ?? [])];
    if (entries.length > 0) {
      this.#logger?.warn(
        { entries: entries.length, announce },
        "presence: writing this node's members again",
      );
    }
    for (let i = 0; i < entries.length; i += BATCH) {
      const changes = await Promise.all(
        entries.slice(i, i + BATCH).map((e) => this.put(e, Number.MAX_SAFE_INTEGER)),
      );
      if (announce) for (const change of changes) if (change) this.#owner?.announce(change);
    }
  }

  /** Removes the entries of every node whose lease lapsed, announcing each change. */
  async #sweep(): Promise<void> {
    const nodesKey = `${this.#tag}nodes`;
    const lapsed = (await call(
      this.#client,
      ["ZRANGEBYSCORE", nodesKey, "-inf", `(${Date.now()}`],
      this.#timeoutMs,
    )) as string[];
    for (const node of lapsed) {
      if (node === this.nodeId) continue;
      const indexKey = `${this.#tag}node:${node}`;
      for (;;) {
        if (this.#closed) return;
        // Renewed meanwhile (it was only slow): leave its entries alone.
        const expiry = await call(this.#client, ["ZSCORE", nodesKey, node], this.#timeoutMs);
        if (expiry === null || Number(expiry) >= Date.now()) break;
        const batch = (await call(
          this.#client,
          ["SRANDMEMBER", indexKey, String(BATCH)],
          this.#timeoutMs,
        )) as string[];
        if (batch.length === 0) {
          await FORGET.run(this.#client, [nodesKey, indexKey], [node, String(Date.now())], this.#timeoutMs);
          break;
        }
        const changes = await Promise.all(
          batch.map((item) => {
            const entry = parseIndexEntry(item);
            if (entry) return this.#removeFrom(entry, node);
            return call(this.#client, ["SREM", indexKey, item], this.#timeoutMs).then(() => undefined);
          }),
        );
        for (const change of changes) if (change) this.#owner?.announce(change);
      }
    }
  }

  async #removeFrom(entry: PresenceEntry, nodeId: string): Promise<PresenceChange | undefined> {
    const reply = (await REMOVE.run(
      this.#client,
      this.#keys(entry, nodeId),
      [entry.userId, entry.connectionId, indexEntry(entry), nodeId],
      this.#timeoutMs,
    )) as string[];
    return changeFrom(entry, reply);
  }

  #keys(entry: Pick<PresenceEntry, "appId" | "room" | "userId">, nodeId: string): string[] {
    const key = roomKey(entry.appId, entry.room);
    return [
      `${this.#tag}users:${key}`,
      `${this.#tag}member:${key}|${entry.userId}`,
      `${this.#tag}node:${nodeId}`,
    ];
  }
}

function changeFrom(entry: PresenceEntry, reply: string[]): PresenceChange | undefined {
  const [action, connectionId, data] = reply;
  if (action !== "enter" && action !== "update" && action !== "leave") return undefined;
  return {
    appId: entry.appId,
    room: entry.room,
    action,
    member: memberOf(entry.userId, connectionId!, data!),
  };
}

/** `<connectionId><appId>|<room>|<userId>`: app ids and room names hold no `|`; a user id may. */
function indexEntry(entry: Pick<PresenceEntry, "appId" | "room" | "userId" | "connectionId">): string {
  return `${entry.connectionId}${entry.appId}|${entry.room}|${entry.userId}`;
}

function parseIndexEntry(item: string): PresenceEntry | undefined {
  const connectionId = item.slice(0, CONNECTION_ID_LENGTH);
  const rest = item.slice(CONNECTION_ID_LENGTH);
  const a = rest.indexOf("|");
  const b = a === -1 ? -1 : rest.indexOf("|", a + 1);
  if (connectionId.length !== CONNECTION_ID_LENGTH || b === -1) return undefined;
  return {
    connectionId,
    appId: rest.slice(0, a),
    room: rest.slice(a + 1, b),
    userId: rest.slice(b + 1),
    data: "null",
    ts: 0,
  };
}
