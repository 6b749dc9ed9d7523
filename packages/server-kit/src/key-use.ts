import { secretKeyId } from "./keys.js";
import type { Logger } from "./logger.js";
import type { TenantDirectory } from "./tenant-directory.js";

/**
 * When each API key was last used, for the console's key list (docs/console.md). Coarse on
 * purpose: a process records a key at most once per `KEY_USE_RESOLUTION_MS`, so the hot
 * paths (every handshake, every REST call) pay a map look-up, and the store sees at most
 * one write a minute per key per process.
 */
export const KEY_USE_RESOLUTION_MS = 60_000;

/** Where uses land: in memory when embedded, a Redis hash in a cluster (redis-kit). */
export interface KeyUseStore {
  /** Key ids (`keyUseId`) → ms since the epoch. */
  record(uses: Map<string, number>): Promise<void>;
  lastUsed(ids: string[]): Promise<Map<string, number>>;
}

/** A key's id in the store: `p:<publishable key>` or `s:<secret key id>` (never the secret). */
export function keyUseId(kind: "publishable" | "secret", idOrKey: string): string {
  return `${kind === "publishable" ? "p" : "s"}:${idOrKey}`;
}

export class MemoryKeyUseStore implements KeyUseStore {
  readonly #uses = new Map<string, number>();

  async record(uses: Map<string, number>): Promise<void> {
    for (const [id, at] of uses) this.#uses.set(id, Math.max(at, this.#uses.get(id) ?? 0));
  }

  async lastUsed(ids: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const id of ids) {
      const at = this.#uses.get(id);
      if (at !== undefined) out.set(id, at);
    }
    return out;
  }
}

/** One process's side: throttles per key, writes in the background, never fails a request. */
export class KeyUse {
  readonly #last = new Map<string, number>();
  #pending = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly store: KeyUseStore,
    private readonly options: { logger?: Pick<Logger, "warn">; flushMs?: number; now?: () => number } = {},
  ) {}

  used(id: string): void {
    const now = (this.options.now ?? Date.now)();
    const last = this.#last.get(id);
    if (last !== undefined && now - last < KEY_USE_RESOLUTION_MS) return;
    this.#last.set(id, now);
    this.#pending.set(id, now);
    this.#timer ??= setTimeout(() => void this.flush(), this.options.flushMs ?? 1_000);
    this.#timer.unref?.();
  }

  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    if (batch.size === 0) return;
    this.#pending = new Map();
    await this.store.record(batch).catch((err: unknown) => {
      // Lost uses show up at the key's next use after the resolution; nothing else depends on them.
      for (const id of batch.keys()) this.#last.delete(id);
      this.options.logger?.warn({ err }, "key use not recorded");
    });
  }

  close(): Promise<void> {
    return this.flush();
  }
}

/**
 * The directory, telling `keyUse` of every key it finds: a publishable key at a handshake,
 * a secret key on a REST call. The one place both services record key use.
 */
export function recordingKeyUse(directory: TenantDirectory, keyUse: KeyUse | undefined): TenantDirectory {
  if (!keyUse) return directory;
  return {
    byId: (appId) => directory.byId(appId),
    async byPublishableKey(key) {
      const app = await directory.byPublishableKey(key);
      if (app) keyUse.used(keyUseId("publishable", key));
      return app;
    },
    async bySecretKey(secret) {
      const app = await directory.bySecretKey(secret);
      const id = app ? secretKeyId(secret) : undefined;
      if (id) keyUse.used(keyUseId("secret", id));
      return app;
    },
  };
}
