import type { Position } from "@relaybase/protocol";
import {
  type AppendResult,
  type HistoryQuery,
  type HistoryRead,
  type Replay,
  type RetentionLimits,
  type RoomHistory,
  randomId,
  type StoredMessage,
} from "@relaybase/server-kit";
import { LuaScript, type RedisClient, type Reply } from "./client.js";

export interface RedisRoomHistoryOptions {
  /** Put before every key, e.g. `"rb1:"`. Must not contain `{` (it would change the hash slot). Default "". */
  prefix?: string;
  /** Longest wait for Redis per call before failing with UNAVAILABLE. Default 1 000 ms. */
  commandTimeoutMs?: number;
  /**
   * A room's entries and dedup map expire this long after its last message's TTL
   * (`ttlMs + expiryMarginMs` after the last append). Default 60 000 ms.
   */
  expiryMarginMs?: number;
  /**
   * A room's offset and epoch are kept at least this long after its last use (append,
   * position, since), so a quiet room keeps its epoch and a subscriber's `{0, epoch}`
   * stays valid. After that the room is forgotten and gets a new epoch: a client
   * holding the old one is told it has a gap. Default 24 h.
   */
  roomIdleMs?: number;
  /** Clock for age trimming, replaceable in tests. Default `Date.now`. */
  now?: () => number;
}

/*
 * Shared Lua pieces. KEYS[1] meta hash {epoch, offset}, KEYS[2] stream of entries
 * (ID "<offset>-0"; fields i = message id, t = ts, d = message JSON without offset),
 * KEYS[3] hash message id -> offset (dedup), always holding exactly the stream's ids.
 */
const LUA_COMMON = `
local meta, stream, ids = KEYS[1], KEYS[2], KEYS[3]

-- A missing meta hash means a new (or lost) history: new epoch, and no leftovers.
local function ensure_epoch(new_epoch)
  local epoch = redis.call('HGET', meta, 'epoch')
  if epoch then return epoch end
  redis.call('DEL', stream, ids)
  redis.call('HSET', meta, 'epoch', new_epoch, 'offset', 0)
  return new_epoch
end

-- Drops entries beyond max_entries, then entries older than cutoff from the front
-- (the same rule as MemoryRoomHistory), removing their ids from the dedup map.
local function trim(max_entries, cutoff)
  local len = redis.call('XLEN', stream)
  if len == 0 then return end
  local excess = len - max_entries
  local dropped, keep_from, start = 0, nil, '-'
  while not keep_from do
    local want = excess - dropped
    if want < 0 then want = 0 end
    local batch = redis.call('XRANGE', stream, start, '+', 'COUNT', want + 8)
    if #batch == 0 then break end
    for _, entry in ipairs(batch) do
      local f = entry[2]
      if dropped < excess or tonumber(f[4]) < cutoff then
        redis.call('HDEL', ids, f[2])
        dropped = dropped + 1
      else
        keep_from = entry[1]
        break
      end
    end
    start = '(' .. batch[#batch][1]
  end
  if dropped == 0 then return end
  if keep_from then
    redis.call('XTRIM', stream, 'MINID', keep_from)
  else
    redis.call('DEL', stream, ids)
  end
end

local function touch_meta(ms)
  if redis.call('PTTL', meta) < ms then redis.call('PEXPIRE', meta, ms) end
end
`;

/**
 * ARGV: new_epoch, id, ts, json, max_entries, cutoff, data_expiry_ms, meta_expiry_ms
 * Returns {offset, epoch, duplicate(0|1), first_json (when duplicate)}.
 */
const APPEND = new LuaScript(`${LUA_COMMON}
local epoch = ensure_epoch(ARGV[1])
local id = ARGV[2]
trim(tonumber(ARGV[5]), tonumber(ARGV[6]))
local existing = redis.call('HGET', ids, id)
local offset, duplicate, first
if existing then
  offset, duplicate = tonumber(existing), 1
  local entry = redis.call('XRANGE', stream, existing .. '-0', existing .. '-0')[1]
  if entry then first = entry[2][6] end
else
  offset = tonumber(redis.call('HGET', meta, 'offset')) + 1
  -- XADD first: if it fails, nothing of this message was written.
  redis.call('XADD', stream, string.format('%d-0', offset), 'i', id, 't', ARGV[3], 'd', ARGV[4])
  redis.call('HINCRBY', meta, 'offset', 1)
  redis.call('HSET', ids, id, offset)
  duplicate = 0
  trim(tonumber(ARGV[5]), tonumber(ARGV[6]))
end
local data_ms = tonumber(ARGV[7])
redis.call('PEXPIRE', stream, data_ms)
redis.call('PEXPIRE', ids, data_ms)
touch_meta(tonumber(ARGV[8]))
if first then return {offset, epoch, duplicate, first} end
return {offset, epoch, duplicate}
`);

/** ARGV: new_epoch, idle_ms. Returns {offset, epoch}. */
const POSITION = new LuaScript(`${LUA_COMMON}
local epoch = ensure_epoch(ARGV[1])
touch_meta(tonumber(ARGV[2]))
return {tonumber(redis.call('HGET', meta, 'offset')), epoch}
`);

/**
 * ARGV: new_epoch, idle_ms, max_entries, cutoff, since_offset, since_epoch, first_wanted_id
 * Returns {offset, epoch, recovered(0|1), id1, json1, id2, json2, ...}.
 */
const SINCE = new LuaScript(`${LUA_COMMON}
local epoch = ensure_epoch(ARGV[1])
touch_meta(tonumber(ARGV[2]))
local max_entries = tonumber(ARGV[3])
trim(max_entries, tonumber(ARGV[4]))
local offset = tonumber(redis.call('HGET', meta, 'offset'))
local since = tonumber(ARGV[5])
if ARGV[6] ~= epoch or since > offset then return {offset, epoch, 0} end
local oldest = offset + 1
local first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)
if first[1] then oldest = tonumber(string.match(first[1][1], '^(%d+)')) end
if since + 1 < oldest then return {offset, epoch, 0} end
local out = {offset, epoch, 1}
if max_entries > 0 then
  local entries = redis.call('XRANGE', stream, ARGV[7], '+', 'COUNT', max_entries)
  for _, entry in ipairs(entries) do
    out[#out + 1] = entry[1]
    out[#out + 1] = entry[2][6]
  end
end
return out
`);

/**
 * ARGV: new_epoch, idle_ms, max_entries, cutoff, direction ('f' | 'b'), start_id, limit
 * Returns {offset, epoch, id1, json1, id2, json2, ...}: XRANGE from start_id (forward) or
 * XREVRANGE from start_id (backward), at most `limit` entries.
 */
const READ = new LuaScript(`${LUA_COMMON}
local epoch = ensure_epoch(ARGV[1])
touch_meta(tonumber(ARGV[2]))
trim(tonumber(ARGV[3]), tonumber(ARGV[4]))
local out = {tonumber(redis.call('HGET', meta, 'offset')), epoch}
local limit = tonumber(ARGV[7])
if limit > 0 then
  local entries
  if ARGV[5] == 'f' then
    entries = redis.call('XRANGE', stream, ARGV[6], '+', 'COUNT', limit)
  else
    entries = redis.call('XREVRANGE', stream, ARGV[6], '-', 'COUNT', limit)
  end
  for _, entry in ipairs(entries) do
    out[#out + 1] = entry[1]
    out[#out + 1] = entry[2][6]
  end
end
return out
`);

/**
 * Positioned per-room history in Redis (DESIGN §5, layer 2), with the semantics of
 * `MemoryRoomHistory`. Per room, three keys in one Cluster hash slot:
 * `<prefix>{rb:h:<roomKey>}:m` (hash: epoch, offset), `…:s` (stream of entries, ID
 * `<offset>-0`) and `…:i` (hash: message id → offset). Each operation is one Lua
 * script, so offsets are assigned and stored atomically across any number of nodes.
 *
 * The client must be connected. Calls fail with `RelaybaseError("UNAVAILABLE")` at once
 * when it is not (its offline queue is bypassed) and after `commandTimeoutMs` when
 * Redis does not answer. `createRedisClient` makes a suitable client. An `append` that
 * timed out may still have been applied: retrying with the same message id is safe
 * (it returns the first offset, `duplicate: true`).
 *
 * Messages are stored as JSON: `data` must be JSON-serialisable (it always is once it
 * crossed the wire), and a property whose value is `undefined` is not kept.
 */
export class RedisRoomHistory implements RoomHistory {
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #marginMs: number;
  readonly #idleMs: number;
  readonly #now: () => number;

  constructor(client: RedisClient, options: RedisRoomHistoryOptions | string = {}) {
    const opts = typeof options === "string" ? { prefix: options } : options;
    if (opts.prefix?.includes("{")) throw new Error("The key prefix must not contain '{'.");
    this.#client = client;
    this.#prefix = opts.prefix ?? "";
    this.#timeoutMs = opts.commandTimeoutMs ?? 1_000;
    this.#marginMs = opts.expiryMarginMs ?? 60_000;
    this.#idleMs = opts.roomIdleMs ?? 24 * 3600_000;
    this.#now = opts.now ?? Date.now;
  }

  /** The Redis keys of a room: meta hash, entry stream, dedup hash. */
  keys(roomKey: string): [meta: string, stream: string, ids: string] {
    const base = `${this.#prefix}{rb:h:${roomKey}}`;
    return [`${base}:m`, `${base}:s`, `${base}:i`];
  }

  async append(
    roomKey: string,
    message: Omit<StoredMessage, "offset">,
    limits: RetentionLimits,
  ): Promise<AppendResult> {
    const dataExpiry = this.#dataExpiryMs(limits);
    const reply = await APPEND.run(
      this.#client,
      this.keys(roomKey),
      [
        randomId(8),
        message.id,
        String(message.ts),
        JSON.stringify(message),
        String(maxEntries(limits)),
        String(this.#now() - limits.ttlMs),
        String(dataExpiry),
        String(Math.max(dataExpiry, this.#idleMs)),
      ],
      this.#timeoutMs,
    );
    const [offset, epoch, duplicate, first] = reply as [number, string, number, string?];
    if (duplicate === 0) return { offset, epoch, duplicate: false };
    if (first === undefined) return { offset, epoch, duplicate: true };
    const stored = JSON.parse(first) as Omit<StoredMessage, "offset">;
    return { offset, epoch, duplicate: true, stored: { ...stored, offset } };
  }

  async position(roomKey: string): Promise<Position> {
    const reply = await POSITION.run(
      this.#client,
      this.keys(roomKey),
      [randomId(8), String(this.#idleMs)],
      this.#timeoutMs,
    );
    const [offset, epoch] = reply as [number, string];
    return { offset, epoch };
  }

  async since(roomKey: string, since: Position, limits: RetentionLimits): Promise<Replay> {
    const reply = (await SINCE.run(
      this.#client,
      this.keys(roomKey),
      [
        randomId(8),
        String(this.#idleMs),
        String(maxEntries(limits)),
        String(this.#now() - limits.ttlMs),
        String(since.offset),
        since.epoch,
        `${since.offset + 1}-0`,
      ],
      this.#timeoutMs,
    )) as Reply[];
    const [offset, epoch, recovered] = reply as [number, string, number];
    return { position: { offset, epoch }, recovered: recovered === 1, messages: entriesOf(reply, 3) };
  }

  async read(roomKey: string, query: HistoryQuery, limits: RetentionLimits): Promise<HistoryRead> {
    const forward = query.direction === "forward";
    let limit = Math.max(0, Math.floor(query.limit));
    let start: string;
    if (forward) start = `${(query.since ?? 0) + 1}-0`;
    else if (query.since === undefined) start = "+";
    else {
      // Nothing is before offset 1; XREVRANGE's bound is inclusive.
      if (query.since <= 1) limit = 0;
      start = `${Math.max(1, query.since - 1)}-0`;
    }
    const reply = (await READ.run(
      this.#client,
      this.keys(roomKey),
      [
        randomId(8),
        String(this.#idleMs),
        String(maxEntries(limits)),
        String(this.#now() - limits.ttlMs),
        forward ? "f" : "b",
        start,
        String(limit),
      ],
      this.#timeoutMs,
    )) as Reply[];
    const [offset, epoch] = reply as [number, string];
    return { position: { offset, epoch }, messages: entriesOf(reply, 2) };
  }

  #dataExpiryMs(limits: RetentionLimits): number {
    return Math.max(1, Math.ceil(limits.ttlMs)) + this.#marginMs;
  }
}

/** The `id, json` pairs of a script's reply from index `from` on, as stored messages. */
function entriesOf(reply: Reply[], from: number): StoredMessage[] {
  const messages: StoredMessage[] = [];
  for (let i = from; i + 1 < reply.length; i += 2) {
    const entryId = reply[i] as string;
    const stored = JSON.parse(reply[i + 1] as string) as Omit<StoredMessage, "offset">;
    messages.push({ ...stored, offset: Number.parseInt(entryId, 10) });
  }
  return messages;
}

function maxEntries(limits: RetentionLimits): number {
  return Math.max(0, Math.floor(limits.maxEntries));
}
