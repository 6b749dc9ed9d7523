import { capabilitiesSchema } from "@relaybase/protocol/schemas";
import { PLAN_IDS } from "@relaybase/server-kit";
import { z } from "zod";
import { KEY_KINDS, MEMBER_ROLES } from "../db/schema.js";

/** Input and output schemas shared by several procedures. Dates travel as ISO strings. */

export const appIdSchema = z.string().regex(/^app_[A-Za-z0-9]{1,64}$/, "not an app id");
export const keyIdSchema = z.string().regex(/^key_[A-Za-z0-9]{1,64}$/, "not a key id");

export const emailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email())
  .transform((e) => e.toLowerCase());
/** Upper bound keeps argon2 from hashing megabytes. */
export const passwordSchema = z.string().min(8, "at least 8 characters").max(256);
export const displayNameSchema = z.string().trim().min(1).max(100);

/** An exact origin (`https://example.com:8443`) or a subdomain wildcard (`https://*.example.com`). */
export const originSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^https?:\/\/(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/,
    "an origin: scheme://host[:port], no path",
  );
export const allowedOriginsSchema = z.array(originSchema).max(100);
export const anonymousCapsSchema = capabilitiesSchema.refine((c) => Object.keys(c).length <= 100, {
  message: "at most 100 patterns",
});

const isoDate = z.string();
export const iso = (d: Date): string => d.toISOString();

export const userOutput = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string().nullable(),
  createdAt: isoDate,
});

export const orgOutput = z.object({
  id: z.string(),
  name: z.string(),
  plan: z.enum(PLAN_IDS),
  role: z.enum(MEMBER_ROLES),
});

export const meOutput = z.object({ user: userOutput, orgs: z.array(orgOutput) });

export const appOutput = z.object({
  id: z.string(),
  orgId: z.string(),
  name: z.string(),
  allowedOrigins: z.array(z.string()),
  anonymousCaps: capabilitiesSchema,
  clientPublish: z.boolean(),
  createdAt: isoDate,
  updatedAt: isoDate,
});

/** A key as listed: never a secret or its hash. */
export const keyOutput = z.object({
  id: z.string(),
  appId: z.string(),
  kind: z.enum(KEY_KINDS),
  name: z.string(),
  /** The publishable key itself (it is public); null for secret keys. */
  publishableKey: z.string().nullable(),
  /** For secret keys, the recognisable start `sk_<keyId>_…`; null for publishable keys. */
  secretPreview: z.string().nullable(),
  createdAt: isoDate,
  revokedAt: isoDate.nullable(),
});
