import type { Capabilities, WebhookEventType } from "@relaybase/protocol";
import { hashesEqual, hashSecret, secretKeyId } from "./keys.js";
import type { PlanId, PlanLimits } from "./plans.js";

/** What a realtime node or REST instance needs to know about an app (no Postgres). */
export interface AppRuntime {
  appId: string;
  orgId: string;
  name: string;
  /** The org's plan (limits may differ from the plan's by operator overrides). */
  plan: PlanId;
  /** Browser origins allowed to connect; empty means any origin. */
  allowedOrigins: string[];
  /** What a connection with only the publishable key may do. */
  anonymousCaps: Capabilities;
  /** Whether clients may publish over their socket (else only REST publishes). */
  clientPublish: boolean;
  limits: AppLimits;
  /** Live publishable keys. */
  publishableKeys: string[];
  /** Live secret keys: id and SHA-256 of the whole key. */
  secretKeys: { keyId: string; hash: string }[];
  /**
   * What the app's enabled webhook endpoints subscribe to, together, so that nodes send only
   * the events someone will receive (docs/webhooks.md). Absent: none.
   */
  webhooks?: AppWebhooks;
}

export interface AppWebhooks {
  events: WebhookEventType[];
  /** Room patterns whose client publishes are sent as `client.published`. */
  clientRooms: string[];
}

/** The limits in force for an app: its plan's, with any operator overrides applied. */
export type AppLimits = PlanLimits;

/** Read side, used on hot paths by realtime nodes and the REST API. */
export interface TenantDirectory {
  byPublishableKey(key: string): Promise<AppRuntime | undefined>;
  byId(appId: string): Promise<AppRuntime | undefined>;
  /** The app owning this live secret key, or undefined (unknown, revoked, malformed). */
  bySecretKey(secret: string): Promise<AppRuntime | undefined>;
}

/** Write side, used only by the control plane. */
export interface TenantDirectoryWriter {
  put(app: AppRuntime): Promise<void>;
  remove(appId: string): Promise<void>;
}

/**
 * The embedded directory: one process, plain maps. The distributed one (Redis) keeps
 * the same interface.
 */
export class MemoryTenantDirectory implements TenantDirectory, TenantDirectoryWriter {
  readonly #apps = new Map<string, AppRuntime>();
  readonly #byPublishable = new Map<string, string>();
  readonly #bySecretId = new Map<string, string>();

  async put(app: AppRuntime): Promise<void> {
    await this.remove(app.appId);
    const copy = structuredClone(app);
    this.#apps.set(app.appId, copy);
    for (const key of copy.publishableKeys) this.#byPublishable.set(key, app.appId);
    for (const { keyId } of copy.secretKeys) this.#bySecretId.set(keyId, app.appId);
  }

  async remove(appId: string): Promise<void> {
    const old = this.#apps.get(appId);
    if (!old) return;
    for (const key of old.publishableKeys) this.#byPublishable.delete(key);
    for (const { keyId } of old.secretKeys) this.#bySecretId.delete(keyId);
    this.#apps.delete(appId);
  }

  async byPublishableKey(key: string): Promise<AppRuntime | undefined> {
    const appId = this.#byPublishable.get(key);
    return appId === undefined ? undefined : this.#apps.get(appId);
  }

  async byId(appId: string): Promise<AppRuntime | undefined> {
    return this.#apps.get(appId);
  }

  async bySecretKey(secret: string): Promise<AppRuntime | undefined> {
    return findBySecret(secret, (keyId) => {
      const appId = this.#bySecretId.get(keyId);
      return appId === undefined ? undefined : this.#apps.get(appId);
    });
  }
}

/** Shared rule for secret-key lookup: find by key id, then compare hashes in constant time. */
export function findBySecret(
  secret: string,
  lookup: (keyId: string) => AppRuntime | undefined,
): AppRuntime | undefined {
  const keyId = secretKeyId(secret);
  if (keyId === undefined) return undefined;
  const app = lookup(keyId);
  const stored = app?.secretKeys.find((k) => k.keyId === keyId);
  if (!app || !stored) return undefined;
  const known = liveSecretHashes.get(secret);
  if (known !== undefined && hashesEqual(stored.hash, known)) {
    // Most recently used last, so the oldest is the first to go.
    liveSecretHashes.delete(secret);
    liveSecretHashes.set(secret, known);
    return app;
  }
  const hash = hashSecret(secret);
  if (!hashesEqual(stored.hash, hash)) return undefined;
  liveSecretHashes.set(secret, hash);
  if (liveSecretHashes.size > LIVE_SECRET_HASHES)
    liveSecretHashes.delete(liveSecretHashes.keys().next().value!);
  return app;
}

/**
 * SHA-256 of secret keys that matched a live key lately (a server sends the same key on
 * every request; hashing it was ~5% of a REST publish). A key's hash never changes, so the
 * cache needs no invalidation: the lookup by key id above runs on every request, and a
 * revoked or rotated key fails there or in the comparison, whatever is cached. Only
 * matching keys get in, so guessed keys cannot crowd out real ones. Bounded, least
 * recently used out.
 */
const LIVE_SECRET_HASHES = 1024;
const liveSecretHashes = new Map<string, string>();
