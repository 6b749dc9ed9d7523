import { createHash } from "node:crypto";
import { RelaybaseError } from "@relaybase/protocol";
import {
  type AppRuntime,
  findBySecret,
  secretKeyId,
  type TenantDirectory,
  type TenantDirectoryWriter,
} from "@relaybase/server-kit";
import { call, errorListener, LuaScript, type RedisClient, type WarnLogger } from "./client.js";

export interface RedisTenantDirectoryOptions {
  /** Put before every key and the channel, e.g. `"rb1:"`. Must not contain `{`. Default "". */
  prefix?: string;
  /** How long a found app or key is served from memory without asking Redis. Default 5 000 ms. */
  cacheTtlMs?: number;
  /** How long an unknown app id or key is remembered as unknown. Default 1 000 ms. */
  negativeTtlMs?: number;
  /** Most unknown ids/keys remembered; the oldest go first. Default 10 000. */
  maxNegativeEntries?: number;
  /** Longest wait for Redis per call before failing (or serving a stale entry). Default 1 000 ms. */
  commandTimeoutMs?: number;
  /** Where the subscriber connection's errors are logged (throttled). */
  logger?: WarnLogger;
}

/**
 * ARGV: mode ("put" | "remove"), appId, app JSON (put), index key base, channel.
 * KEYS[1]: the app's record. Publishes "<appId> <sha1 of the JSON>" (put) or "<appId>" (remove).
 */
const WRITE = new LuaScript(`
local app_key = KEYS[1]
local mode, app_id, json, base, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

local function index_keys(raw)
  local keys = {}
  local ok, app = pcall(cjson.decode, raw)
  if not ok or type(app) ~= 'table' then return keys end
  if type(app.publishableKeys) == 'table' then
    for _, k in ipairs(app.publishableKeys) do
      if type(k) == 'string' then keys[#keys + 1] = base .. 'pk:' .. k end
    end
  end
  if type(app.secretKeys) == 'table' then
    for _, s in ipairs(app.secretKeys) do
      if type(s) == 'table' and type(s.keyId) == 'string' then keys[#keys + 1] = base .. 'sk:' .. s.keyId end
    end
  end
  return keys
end

local old = redis.call('GET', app_key)
if old then
  for _, k in ipairs(index_keys(old)) do
    -- Only this app's own entries: a key never moves between apps, but be safe.
    if redis.call('GET', k) == app_id then redis.call('DEL', k) end
  end
end
local message = app_id
if mode == 'put' then
  redis.call('SET', app_key, json)
  for _, k in ipairs(index_keys(json)) do redis.call('SET', k, app_id) end
  message = app_id .. ' ' .. redis.sha1hex(json)
else
  redis.call('DEL', app_key)
end
redis.call('PUBLISH', channel, message)
return 1
`);

interface Cached<T> {
  value: T;
  /** When the fetch that produced it started. */
  at: number;
}

interface VersionedApp {
  app: AppRuntime;
  /** SHA-1 of the stored JSON, as in change messages: a message about this version changes nothing. */
  version: string;
}

/**
 * The tenant directory of distributed mode (DESIGN §1, §8). The control plane writes
 * (`put`, `remove`); realtime nodes and REST instances read, almost always from memory.
 *
 * Redis layout (all keys in one Cluster hash slot, `{rb:dir}`, so a write is one Lua
 * script): `<prefix>{rb:dir}:app:<appId>` → `AppRuntime` JSON,
 * `<prefix>{rb:dir}:pk:<publishableKey>` → appId, `<prefix>{rb:dir}:sk:<keyId>` → appId.
 * A write replaces the app's record and index keys atomically (index keys of keys the
 * app no longer has are deleted) and PUBLISHes the appId on `<prefix>rb:dir:changed`.
 *
 * Reads are cached in memory for `cacheTtlMs`; unknown ids/keys for `negativeTtlMs`.
 * Once `start()` has subscribed, a change message drops the app from every reader's
 * cache at once (a revoked key is refused within milliseconds); the TTL bounds
 * staleness if a message is lost. While the subscriber is not connected, cached entries
 * are revalidated on every use; when it reconnects, all of them are.
 *
 * When Redis is unreachable, a cached app is served even if stale (refusing every known
 * app during an outage would be worse than honouring a change a little late); a lookup
 * with nothing cached throws `RelaybaseError("UNAVAILABLE")`, never "unknown key".
 */
export class RedisTenantDirectory implements TenantDirectory, TenantDirectoryWriter {
  readonly #client: RedisClient;
  readonly #base: string;
  readonly #channel: string;
  readonly #ttlMs: number;
  readonly #negativeTtlMs: number;
  readonly #maxNegative: number;
  readonly #timeoutMs: number;
  readonly #logger: WarnLogger | undefined;

  readonly #apps = new Map<string, Cached<VersionedApp>>();
  readonly #byPublishable = new Map<string, Cached<string>>();
  readonly #bySecretId = new Map<string, Cached<string>>();
  /** "id:<appId>" | "pk:<key>" | "sk:<keyId>" → expiry time; insertion order is expiry order. */
  readonly #missing = new Map<string, number>();
  readonly #inflight = new Map<string, Promise<unknown>>();
  /** Bumped by every invalidation. A fetch notes it when it starts, to tell whether it raced one. */
  #generation = 0;
  /** The generation of each app's last invalidation. */
  readonly #appGeneration = new Map<string, number>();
  /** The version in each app's last change message ("" once removed). */
  readonly #latestVersion = new Map<string, string>();
  /** Entries fetched before this are stale (set when the subscriber reconnects). */
  #validAfter = 0;

  #subscriber: RedisClient | undefined;
  #subscribed = false;
  #starting: Promise<void> | undefined;
  #closed = false;

  constructor(client: RedisClient, options: RedisTenantDirectoryOptions = {}) {
    const prefix = options.prefix ?? "";
    if (prefix.includes("{")) throw new Error("The key prefix must not contain '{'.");
    this.#client = client;
    this.#base = `${prefix}{rb:dir}:`;
    this.#channel = `${prefix}rb:dir:changed`;
    this.#ttlMs = options.cacheTtlMs ?? 5_000;
    this.#negativeTtlMs = options.negativeTtlMs ?? 1_000;
    this.#maxNegative = options.maxNegativeEntries ?? 10_000;
    this.#timeoutMs = options.commandTimeoutMs ?? 1_000;
    this.#logger = options.logger;
  }

  /** A directory that has started listening for changes (see `start`). */
  static async create(
    client: RedisClient,
    options?: RedisTenantDirectoryOptions,
  ): Promise<RedisTenantDirectory> {
    const directory = new RedisTenantDirectory(client, options);
    await directory.start();
    return directory;
  }

  /**
   * Opens a subscriber connection (`client.duplicate()`) and listens for changes.
   * Resolves once subscribed; node-redis keeps reconnecting (and resubscribing) if Redis
   * is down, so this may take as long as the outage. The directory answers lookups
   * before that (revalidating every cached entry on use). Calling it again is harmless.
   */
  start(): Promise<void> {
    this.#starting ??= this.#subscribe();
    return this.#starting;
  }

  /** Stops listening. The client passed in is left open (it belongs to the caller). */
  async close(): Promise<void> {
    this.#closed = true;
    const sub = this.#subscriber;
    this.#subscriber = undefined;
    this.#subscribed = false;
    if (!sub?.isOpen) return;
    try {
      await sub.disconnect();
    } catch {
      // Already closing.
    }
  }

  // ---- write side (control plane) ----

  async put(app: AppRuntime): Promise<void> {
    await this.#write("put", app.appId, JSON.stringify(app));
  }

  async remove(appId: string): Promise<void> {
    await this.#write("remove", appId, "");
  }

  async #write(mode: "put" | "remove", appId: string, json: string): Promise<void> {
    try {
      await WRITE.run(
        this.#client,
        [this.#appKey(appId)],
        [mode, appId, json, this.#base, this.#channel],
        this.#timeoutMs,
      );
    } finally {
      // Read your own writes, without waiting for the change message.
      this.#invalidate(appId);
    }
  }

  // ---- read side (hot paths) ----

  async byId(appId: string): Promise<AppRuntime | undefined> {
    if (!isLookupString(appId)) return undefined;
    const found = await this.#lookup(
      this.#apps,
      `id:${appId}`,
      appId,
      async () => {
        const raw = await this.#get(this.#appKey(appId));
        return raw === undefined ? undefined : parseApp(raw, appId);
      },
      // Not if the app changed while we were reading, unless we read that very change.
      (found, generation) =>
        (this.#appGeneration.get(appId) ?? 0) <= generation ||
        this.#latestVersion.get(appId) === found.version,
    );
    return found?.app;
  }

  async byPublishableKey(key: string): Promise<AppRuntime | undefined> {
    if (!isLookupString(key)) return undefined;
    // A cached key → app id may outlive the key: the app's own (fresh) record decides.
    const appId = await this.#lookup(this.#byPublishable, `pk:${key}`, key, () => this.#index("pk", key));
    if (appId === undefined) return undefined;
    const app = await this.byId(appId);
    return app?.publishableKeys.includes(key) ? app : undefined;
  }

  async bySecretKey(secret: string): Promise<AppRuntime | undefined> {
    if (typeof secret !== "string") return undefined;
    const keyId = secretKeyId(secret);
    if (keyId === undefined) return undefined;
    const appId = await this.#lookup(this.#bySecretId, `sk:${keyId}`, keyId, () => this.#index("sk", keyId));
    const app = appId === undefined ? undefined : await this.byId(appId);
    // Key id lookup done above; findBySecret checks the key is live and compares hashes.
    return findBySecret(secret, (id) => (id === keyId ? app : undefined));
  }

  async #index(kind: "pk" | "sk", key: string): Promise<string | undefined> {
    return this.#get(`${this.#base}${kind}:${key}`);
  }

  /**
   * Reads one directory key, with the "loaded" marker in the same round trip: a miss
   * while the marker is gone (Redis restarted empty or was flushed, and the control plane
   * has not reloaded yet) is UNAVAILABLE — retry soon — never "unknown key".
   */
  async #get(key: string): Promise<string | undefined> {
    const reply = await call(this.#client, ["MGET", key, this.#loadedKey], this.#timeoutMs);
    const [value, loaded] = Array.isArray(reply) ? reply : [];
    if (typeof value === "string") return value;
    if (loaded === null || loaded === undefined) {
      throw new RelaybaseError("UNAVAILABLE", "The tenant directory is being reloaded.");
    }
    return undefined;
  }

  get #loadedKey(): string {
    return `${this.#base}loaded`;
  }

  // ---- losing Redis's data (control plane) ----

  /** Marks the directory as fully loaded: call after writing every app. */
  async markLoaded(): Promise<void> {
    await call(this.#client, ["SET", this.#loadedKey, String(Date.now())], this.#timeoutMs);
  }

  /**
   * Watches for the directory vanishing from Redis (a restart without persistence, a
   * FLUSHALL): every `intervalMs`, and whenever the client reconnects, checks the marker;
   * when it is gone, runs `reload` (which must put every app), then marks it loaded again.
   * Returns a function that stops watching.
   */
  watchForLoss(reload: () => Promise<void>, intervalMs = 2_000): () => void {
    let running = false;
    const check = async () => {
      if (running || this.#closed || !this.#client.isReady) return;
      running = true;
      try {
        const loaded = await call(this.#client, ["EXISTS", this.#loadedKey], this.#timeoutMs);
        if (loaded === 0) {
          this.#logger?.warn({}, "tenant directory missing from Redis: reloading it");
          await reload();
          await this.markLoaded();
        }
      } catch (err) {
        this.#logger?.warn({ err }, "tenant directory check failed");
      } finally {
        running = false;
      }
    };
    const timer = setInterval(() => void check(), intervalMs);
    timer.unref();
    const onReady = () => void check();
    this.#client.on("ready", onReady);
    return () => {
      clearInterval(timer);
      this.#client.off("ready", onReady);
    };
  }

  /**
   * Memory first; else one fetch per key at a time (concurrent misses share it). On a
   * Redis failure a stale entry is served; with none, the UNAVAILABLE error propagates.
   * A found value is cached if `storable` allows; "not found" only if no change message
   * arrived during the fetch (the change may have added this very key).
   */
  async #lookup<T>(
    cache: Map<string, Cached<T>>,
    missKey: string,
    key: string,
    fetch: () => Promise<T | undefined>,
    storable: (value: T, generation: number) => boolean = () => true,
  ): Promise<T | undefined> {
    const now = Date.now();
    const live = this.#subscribed && this.#subscriber?.isReady === true;
    const hit = cache.get(key);
    if (hit && live && hit.at >= this.#validAfter && now - hit.at < this.#ttlMs) return hit.value;
    const missing = this.#missing.get(missKey);
    if (missing !== undefined && !hit) {
      if (missing > now) return undefined;
      this.#missing.delete(missKey);
    }

    let pending = this.#inflight.get(missKey) as Promise<T | undefined> | undefined;
    if (!pending) {
      const generation = this.#generation;
      pending = fetch().then((value) => {
        const ok = value === undefined ? generation === this.#generation : storable(value, generation);
        if (ok) this.#store(cache, missKey, key, value, now);
        // Whatever was cached predates this fetch, which found nothing: drop it.
        else if (value === undefined) cache.delete(key);
        return value;
      });
      const shared = pending;
      this.#inflight.set(missKey, shared);
      void shared.then(
        () => this.#inflight.delete(missKey),
        () => this.#inflight.delete(missKey),
      );
    }
    try {
      return await pending;
    } catch (err) {
      const stale = cache.get(key);
      if (stale && err instanceof RelaybaseError && err.code === "UNAVAILABLE") return stale.value;
      throw err;
    }
  }

  #store<T>(
    cache: Map<string, Cached<T>>,
    missKey: string,
    key: string,
    value: T | undefined,
    at: number,
  ): void {
    if (value !== undefined) {
      cache.set(key, { value, at });
      this.#missing.delete(missKey);
      return;
    }
    cache.delete(key);
    this.#missing.delete(missKey);
    this.#missing.set(missKey, Date.now() + this.#negativeTtlMs);
    const now = Date.now();
    for (const [k, expires] of this.#missing) {
      if (this.#missing.size <= this.#maxNegative && expires > now) break;
      this.#missing.delete(k);
    }
  }

  #onChange(message: string): void {
    const [appId = "", version = ""] = message.split(" ");
    this.#latestVersion.set(appId, version);
    // The message of a write this directory has already read (its own, or one it
    // fetched before the message arrived): nothing to drop.
    if (version !== "" && this.#apps.get(appId)?.value.version === version) return;
    this.#invalidate(appId);
  }

  /** Forgets an app and everything pointing to it, and every negative entry (a key may just have been added). */
  #invalidate(appId: string): void {
    this.#generation++;
    this.#appGeneration.set(appId, this.#generation);
    this.#apps.delete(appId);
    for (const index of [this.#byPublishable, this.#bySecretId]) {
      for (const [key, entry] of index) if (entry.value === appId) index.delete(key);
    }
    this.#missing.clear();
  }

  /** Everything cached must be revalidated (kept only as a fallback while Redis is down). */
  #invalidateAll(): void {
    this.#generation++;
    this.#validAfter = Date.now();
    this.#missing.clear();
  }

  async #subscribe(): Promise<void> {
    const sub = this.#client.duplicate();
    this.#subscriber = sub;
    sub.on("error", errorListener(this.#logger));
    // After a reconnect node-redis has resubscribed before 'ready'; messages sent while
    // we were away are lost, so nothing cached can be trusted without a check.
    sub.on("ready", () => {
      if (this.#subscribed) this.#invalidateAll();
    });
    await sub.connect();
    if (this.#closed) {
      await sub.disconnect().catch(() => {});
      return;
    }
    await sub.subscribe(this.#channel, (message: string) => this.#onChange(message));
    this.#invalidateAll();
    this.#subscribed = true;
  }

  #appKey(appId: string): string {
    return `${this.#base}app:${appId}`;
  }
}

function isLookupString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= 256;
}

function parseApp(raw: string, appId: string): VersionedApp | undefined {
  const app = JSON.parse(raw) as AppRuntime;
  if (!app || typeof app !== "object" || app.appId !== appId) return undefined;
  return { app, version: createHash("sha1").update(raw).digest("hex") };
}
