import { timingSafeEqual } from "node:crypto";
import { RelaybaseError } from "@relaybase/protocol";
import { PLANS } from "@relaybase/server-kit";
import { eq } from "drizzle-orm";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { appLimitOverrides, apps } from "../db/schema.js";
import { loadAppRuntimes } from "../tenants.js";
import type { Services } from "../trpc/context.js";

/**
 * The operator's API (not the customer's): per-app limit overrides. Enabled only when
 * OPERATOR_TOKEN is set; every request carries it as `Authorization: Bearer …`. A change
 * is written to Postgres and pushed to the tenant directory at once, so every node and
 * REST instance applies it within seconds.
 */
const limitNames = Object.keys(PLANS.free) as (keyof typeof PLANS.free)[];
const overridesBody = z
  .object({
    limits: z.partialRecord(z.enum(limitNames), z.number().int().nonnegative()),
    note: z.string().max(500).optional(),
  })
  .strict();
const params = z.object({ appId: z.string().min(1).max(100) });

export function registerOperatorRoutes(app: FastifyInstance, services: Services): void {
  const token = services.config.OPERATOR_TOKEN;
  if (!token) return;
  const authorize = (req: FastifyRequest) => {
    const given = Buffer.from(req.headers.authorization?.replace(/^Bearer /, "") ?? "");
    const expected = Buffer.from(token);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new RelaybaseError("UNAUTHENTICATED", "Operator endpoints need the operator token.");
    }
  };
  /** The app's overrides and the limits in force (plan + overrides), as nodes see them. */
  const load = async (appId: string) => {
    const runtime = (await loadAppRuntimes(services.db, [appId])).get(appId);
    if (!runtime) throw new RelaybaseError("APP_NOT_FOUND");
    const [row] = await services.db
      .select({ limits: appLimitOverrides.limits })
      .from(appLimitOverrides)
      .where(eq(appLimitOverrides.appId, appId));
    return { plan: runtime.plan, overrides: row?.limits ?? {}, limits: runtime.limits };
  };

  app.get("/operator/v1/apps/:appId/limits", async (req) => {
    authorize(req);
    return load(params.parse(req.params).appId);
  });

  app.put("/operator/v1/apps/:appId/limits", async (req) => {
    authorize(req);
    const { appId } = params.parse(req.params);
    const { limits, note } = overridesBody.parse(req.body);
    const [exists] = await services.db.select({ id: apps.id }).from(apps).where(eq(apps.id, appId));
    if (!exists) throw new RelaybaseError("APP_NOT_FOUND");
    const values = {
      appId,
      limits: limits as Record<string, number>,
      note: note ?? null,
      updatedAt: new Date(),
    };
    await services.db
      .insert(appLimitOverrides)
      .values(values)
      .onConflictDoUpdate({ target: appLimitOverrides.appId, set: values });
    await services.tenants.sync(appId);
    return load(appId);
  });
}
