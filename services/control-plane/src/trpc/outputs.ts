import type { z } from "zod";
import type { apiKeys, apps } from "../db/schema.js";
import { type appOutput, iso, type keyOutput } from "./schemas.js";

/** Rows → procedure outputs; the only place that decides what of a key leaves the server. */
export function appToOutput(app: typeof apps.$inferSelect): z.infer<typeof appOutput> {
  return {
    id: app.id,
    orgId: app.orgId,
    name: app.name,
    allowedOrigins: app.allowedOrigins,
    anonymousCaps: app.anonymousCaps,
    clientPublish: app.clientPublish,
    createdAt: iso(app.createdAt),
    updatedAt: iso(app.updatedAt),
  };
}

export function keyToOutput(key: typeof apiKeys.$inferSelect): z.infer<typeof keyOutput> {
  return {
    id: key.id,
    appId: key.appId,
    kind: key.kind,
    name: key.name,
    publishableKey: key.kind === "publishable" ? key.publishable : null,
    secretPreview: key.kind === "secret" && key.keyId ? `sk_${key.keyId}_…` : null,
    createdAt: iso(key.createdAt),
    revokedAt: key.revokedAt ? iso(key.revokedAt) : null,
  };
}
