/**
 * Limits test fixtures. Limits are set the way an operator sets them: a row in
 * `app_limit_overrides` (in a fresh Postgres database of the test's own), then a change
 * to the app through the console API, which makes the control plane write the app, with
 * its new limits, to the tenant directory every node and REST instance reads.
 */
import { createTestDatabase, type TestDatabase } from "@relaybase/control-plane/testing";
import type { WireError } from "@relaybase/protocol";
import type { PlanLimits } from "@relaybase/server-kit";

export { createTestDatabase, type TestDatabase };

/** The part of a developer (tests/e2e or a cluster) the fixtures need. */
export interface AppOwner {
  appId: string;
  secret: string;
  trpc: {
    apps: {
      update: {
        mutate(input: {
          appId: string;
          name?: string;
          anonymousCaps?: Record<string, string[]>;
        }): Promise<unknown>;
      };
    };
  };
}

/**
 * Overrides some of the app's limits (operator SQL, docs/limits.md) and lets anonymous
 * connections subscribe and publish everywhere (so raw sockets need no token). The app
 * update makes the control plane sync the app to the directory before it answers.
 */
export async function setLimits(
  db: TestDatabase,
  owner: AppOwner,
  limits: Partial<PlanLimits>,
): Promise<void> {
  await db.query!(
    `INSERT INTO app_limit_overrides (app_id, limits, note) VALUES ($1, $2, 'test')
     ON CONFLICT (app_id) DO UPDATE SET limits = EXCLUDED.limits, updated_at = now()`,
    [owner.appId, JSON.stringify(limits)],
  );
  await owner.trpc.apps.update.mutate({
    appId: owner.appId,
    anonymousCaps: { "*": ["subscribe", "publish"] },
  });
}

export interface RestResult {
  status: number;
  retryAfter: number | undefined;
  error: WireError | undefined;
}

/** A REST publish or batch with the app's secret key, as a customer's server sends it. */
export async function restPublish(
  restUrl: string,
  owner: Pick<AppOwner, "appId" | "secret">,
  body: unknown,
  path: "publish" | "batch" = "publish",
): Promise<RestResult> {
  const res = await fetch(`${restUrl}/v1/apps/${owner.appId}/${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${owner.secret}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { error?: WireError };
  const header = res.headers.get("retry-after");
  return { status: res.status, retryAfter: header === null ? undefined : Number(header), error: json.error };
}
