import { patternMatches, type WebhookEventType } from "@relaybase/protocol";
import {
  type AppLimits,
  type AppRuntime,
  type AppWebhooks,
  type Logger,
  PLANS,
  type PlanId,
  type TenantDirectoryWriter,
} from "@relaybase/server-kit";
import { and, eq, inArray, isNull } from "drizzle-orm";
import type { Database } from "./db/index.js";
import { apiKeys, appLimitOverrides, apps, orgs, webhookEndpoints } from "./db/schema.js";

type AppRow = typeof apps.$inferSelect;
type KeyRow = Pick<typeof apiKeys.$inferSelect, "kind" | "publishable" | "keyId" | "secretHash">;

/** The plan's limits with the operator's overrides for this app; unknown keys are ignored. */
export function limitsFor(plan: PlanId, overrides: Record<string, number> | null | undefined): AppLimits {
  const limits: AppLimits = { ...PLANS[plan] };
  for (const key of Object.keys(limits) as (keyof AppLimits)[]) {
    const value = overrides?.[key];
    if (typeof value === "number" && Number.isFinite(value) && value >= 0) limits[key] = value;
  }
  return limits;
}

/** The one place an app's rows become the `AppRuntime` nodes and the REST API read. */
export function toAppRuntime(
  app: AppRow,
  plan: PlanId,
  overrides: Record<string, number> | null | undefined,
  liveKeys: KeyRow[],
  webhooks?: AppWebhooks,
): AppRuntime {
  return {
    appId: app.id,
    orgId: app.orgId,
    name: app.name,
    plan,
    allowedOrigins: [...app.allowedOrigins],
    anonymousCaps: app.anonymousCaps,
    clientPublish: app.clientPublish,
    limits: limitsFor(plan, overrides),
    publishableKeys: liveKeys.flatMap((k) =>
      k.kind === "publishable" && k.publishable ? [k.publishable] : [],
    ),
    secretKeys: liveKeys.flatMap((k) =>
      k.kind === "secret" && k.keyId && k.secretHash ? [{ keyId: k.keyId, hash: k.secretHash }] : [],
    ),
    ...(webhooks && webhooks.events.length > 0 ? { webhooks } : {}),
  };
}

/** What an app's enabled endpoints subscribe to, together (the nodes' filter). */
function webhooksOf(endpoints: { events: string[]; clientRooms: string[] }[]): AppWebhooks {
  const events = new Set<WebhookEventType>();
  const clientRooms = new Set<string>();
  for (const e of endpoints) {
    for (const t of e.events) events.add(t as WebhookEventType);
    if (e.events.includes("client.published")) for (const r of e.clientRooms) clientRooms.add(r);
  }
  if (clientRooms.size === 0) events.delete("client.published");
  return { events: [...events].sort(), clientRooms: [...clientRooms].sort() };
}

/** Whether a client publish to `room` is wanted by the app's endpoints. */
export function wantsClientPublish(webhooks: AppWebhooks | undefined, room: string): boolean {
  return !!webhooks?.clientRooms.some((p) => patternMatches(p, room));
}

/** Reads apps with their plan and live keys; all apps when `appIds` is undefined. */
export async function loadAppRuntimes(db: Database, appIds?: string[]): Promise<Map<string, AppRuntime>> {
  if (appIds?.length === 0) return new Map();
  const rows = await db
    .select({ app: apps, plan: orgs.plan, overrides: appLimitOverrides.limits })
    .from(apps)
    .innerJoin(orgs, eq(orgs.id, apps.orgId))
    .leftJoin(appLimitOverrides, eq(appLimitOverrides.appId, apps.id))
    .where(appIds ? inArray(apps.id, appIds) : undefined);
  const keys = await db
    .select({
      appId: apiKeys.appId,
      kind: apiKeys.kind,
      publishable: apiKeys.publishable,
      keyId: apiKeys.keyId,
      secretHash: apiKeys.secretHash,
    })
    .from(apiKeys)
    .where(and(isNull(apiKeys.revokedAt), appIds ? inArray(apiKeys.appId, appIds) : undefined));
  const endpoints = await db
    .select({
      appId: webhookEndpoints.appId,
      events: webhookEndpoints.events,
      clientRooms: webhookEndpoints.clientRooms,
    })
    .from(webhookEndpoints)
    .where(
      and(eq(webhookEndpoints.enabled, true), appIds ? inArray(webhookEndpoints.appId, appIds) : undefined),
    );
  const endpointsByApp = new Map<string, typeof endpoints>();
  for (const e of endpoints) endpointsByApp.set(e.appId, [...(endpointsByApp.get(e.appId) ?? []), e]);
  const keysByApp = new Map<string, KeyRow[]>();
  for (const key of keys) {
    const list = keysByApp.get(key.appId);
    if (list) list.push(key);
    else keysByApp.set(key.appId, [key]);
  }
  return new Map(
    rows.map(({ app, plan, overrides }) => [
      app.id,
      toAppRuntime(
        app,
        plan,
        overrides,
        keysByApp.get(app.id) ?? [],
        webhooksOf(endpointsByApp.get(app.id) ?? []),
      ),
    ]),
  );
}

/**
 * Keeps the tenant directory in step with Postgres. The control plane is its only
 * writer: it loads everything at start, then re-reads and re-puts an app after each
 * change. Syncs of one app run one after another, so a slow earlier read can never
 * overwrite a later one.
 */
export class TenantSync {
  readonly #queues = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly directory: TenantDirectoryWriter,
    private readonly logger: Logger,
  ) {}

  async loadAll(): Promise<number> {
    const runtimes = await loadAppRuntimes(this.db);
    for (const runtime of runtimes.values()) await this.directory.put(runtime);
    this.logger.info({ apps: runtimes.size }, "tenant directory loaded");
    return runtimes.size;
  }

  /** Re-reads the app and puts it, or removes it when it no longer exists. */
  sync(appId: string): Promise<void> {
    const previous = this.#queues.get(appId) ?? Promise.resolve();
    const next = previous
      .catch(() => {})
      .then(async () => {
        const runtime = (await loadAppRuntimes(this.db, [appId])).get(appId);
        if (runtime) await this.directory.put(runtime);
        else await this.directory.remove(appId);
      });
    this.#queues.set(appId, next);
    const forget = () => {
      if (this.#queues.get(appId) === next) this.#queues.delete(appId);
    };
    next.then(forget, forget);
    return next;
  }

  /** After a plan change: every app of the org gets its new limits. */
  async syncOrg(orgId: string): Promise<void> {
    const rows = await this.db.select({ id: apps.id }).from(apps).where(eq(apps.orgId, orgId));
    await Promise.all(rows.map((r) => this.sync(r.id)));
  }
}
