import { timingSafeEqual } from "node:crypto";
import { RelaybaseError } from "@relaybase/protocol";
import {
  bearerCredential,
  errorResponses,
  PLAN_IDS,
  PLANS,
  throwIfInvalid,
  type ZodTypeProvider,
} from "@relaybase/server-kit";
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
    limits: z
      .partialRecord(z.enum(limitNames), z.number().int().nonnegative())
      .describe("The app's overrides, replacing the ones it had; `{}` goes back to the plan."),
    note: z.string().max(500).optional().describe("Why, for the next operator."),
  })
  .strict();
const params = z.object({ appId: z.string().min(1).max(100) });
const limitsResponse = z.object({
  plan: z.enum(PLAN_IDS).describe("The org's plan."),
  overrides: z.partialRecord(z.enum(limitNames), z.number()).describe("This app's overrides."),
  limits: z
    .object(
      Object.fromEntries(limitNames.map((name) => [name, z.number()])) as Record<
        (typeof limitNames)[number],
        z.ZodNumber
      >,
    )
    .describe("The limits in force: the plan's, with the overrides on top, as nodes apply them."),
});

export function registerOperatorRoutes(server: FastifyInstance, services: Services): void {
  const token = services.config.OPERATOR_TOKEN;
  if (!token) return;
  const app = server.withTypeProvider<ZodTypeProvider>();
  const schema = {
    security: [{ operatorToken: [] }],
    params,
    response: {
      200: limitsResponse.describe("The overrides and the limits in force."),
      ...errorResponses("BAD_REQUEST", "UNAUTHENTICATED", "APP_NOT_FOUND"),
    },
  };
  const authorize = (req: FastifyRequest) => {
    const given = Buffer.from(bearerCredential(req.headers.authorization) ?? "");
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

  // The token is checked before the input: attachValidation, then throwIfInvalid.
  const get = { ...schema, summary: "An app's limit overrides and the limits in force" };
  app.get("/operator/v1/apps/:appId/limits", { attachValidation: true, schema: get }, async (req) => {
    authorize(req);
    throwIfInvalid(req);
    return load(req.params.appId);
  });

  const put = {
    ...schema,
    summary: "Set an app's limit overrides (applied cluster-wide at once)",
    body: overridesBody,
  };
  app.put("/operator/v1/apps/:appId/limits", { attachValidation: true, schema: put }, async (req) => {
    authorize(req);
    throwIfInvalid(req);
    const { appId } = req.params;
    const { limits, note } = req.body;
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
