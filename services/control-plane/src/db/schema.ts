import type { Capabilities } from "@relaybase/protocol";
import type { PlanId } from "@relaybase/server-kit";
import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

// drizzle-kit loads this file on its own: keep local imports out of it (type-only is fine).

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();

// The plan ids and their order: PLAN_IDS in @relaybase/server-kit, with the limits.

/**
 * The plan ids, so orgs.plan is a foreign key. The limits themselves live in one typed
 * table in code (server-kit plans.ts); operators override them per app below.
 */
export const plans = pgTable("plans", {
  id: text("id").$type<PlanId>().primaryKey(),
});

export const users = pgTable(
  "users",
  {
    id: text("id").primaryKey(),
    email: text("email").notNull().unique(),
    name: text("name"),
    passwordHash: text("password_hash").notNull(),
    createdAt: createdAt(),
  },
  (t) => [check("users_email_lowercase", sql`${t.email} = lower(${t.email})`)],
);

export const orgs = pgTable("orgs", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  plan: text("plan")
    .$type<PlanId>()
    .notNull()
    .default("free")
    .references(() => plans.id),
  /** Stripe billing: set by Checkout and the subscription webhooks. */
  stripeCustomerId: text("stripe_customer_id").unique(),
  stripeSubscriptionId: text("stripe_subscription_id"),
  stripeSubscriptionStatus: text("stripe_subscription_status"),
  createdAt: createdAt(),
});

export const MEMBER_ROLES = ["owner", "member"] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

export const memberships = pgTable(
  "memberships",
  {
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    orgId: text("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    role: text("role", { enum: MEMBER_ROLES }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.orgId] }), index("memberships_org_idx").on(t.orgId)],
);

export const DEFAULT_ANONYMOUS_CAPS: Capabilities = { "public:*": ["subscribe"] };

export const apps = pgTable(
  "apps",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    allowedOrigins: text("allowed_origins").array().notNull().default(sql`'{}'::text[]`),
    anonymousCaps: jsonb("anonymous_caps")
      .$type<Capabilities>()
      .notNull()
      .default({ "public:*": ["subscribe"] }),
    clientPublish: boolean("client_publish").notNull().default(true),
    createdAt: createdAt(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("apps_org_idx").on(t.orgId)],
);

export const KEY_KINDS = ["publishable", "secret"] as const;
export type KeyKind = (typeof KEY_KINDS)[number];

/**
 * API keys. A publishable key is public and kept as is; a secret key is kept only as its
 * key id (to find it) and the SHA-256 of the whole key (DESIGN §3).
 */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    appId: text("app_id")
      .notNull()
      .references(() => apps.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: KEY_KINDS }).notNull(),
    name: text("name").notNull(),
    publishable: text("publishable"),
    keyId: text("key_id"),
    secretHash: text("secret_hash"),
    createdAt: createdAt(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [
    index("api_keys_app_idx").on(t.appId),
    uniqueIndex("api_keys_publishable_idx").on(t.publishable),
    uniqueIndex("api_keys_key_id_idx").on(t.keyId),
    check(
      "api_keys_kind_fields",
      sql`(${t.kind} = 'publishable' and ${t.publishable} is not null and ${t.keyId} is null and ${t.secretHash} is null)
        or (${t.kind} = 'secret' and ${t.publishable} is null and ${t.keyId} is not null and ${t.secretHash} is not null)`,
    ),
  ],
);

/** A JWK as stored (jose's JWK type is structurally a plain JSON object). */
export type StoredJwk = Record<string, unknown>;

/**
 * Token signing keys (asymmetric). `retired_at` is the moment a key stops being served in
 * the JWKS; a key being retired stays served until then so tokens it signed still verify.
 * The signing key is the newest one with `retired_at` null.
 */
export const signingKeys = pgTable("signing_keys", {
  kid: text("kid").primaryKey(),
  alg: text("alg").notNull(),
  privateJwk: jsonb("private_jwk").$type<StoredJwk>().notNull(),
  publicJwk: jsonb("public_jwk").$type<StoredJwk>().notNull(),
  createdAt: createdAt(),
  retiredAt: timestamp("retired_at", { withTimezone: true }),
});

/**
 * Console sessions. The session cookie's JWT names its row (`sid`); a request is signed in
 * only while the row exists, so logout (which deletes it) ends every copy of the cookie.
 * `expires_at` matches the JWT's `exp`; expired rows are deleted when their user next signs in.
 */
export const sessions = pgTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [index("sessions_user_idx").on(t.userId)],
);

/** Small process-wide secrets and settings (e.g. the console session HMAC secret). */
export const settings = pgTable("settings", {
  key: text("key").primaryKey(),
  value: jsonb("value").notNull(),
  createdAt: createdAt(),
});

/**
 * Per-app limit overrides, set by the operator (never the customer): any subset of the
 * plan limits (`PlanLimits` in server-kit); the rest come from the org's plan.
 */
export const appLimitOverrides = pgTable("app_limit_overrides", {
  appId: text("app_id")
    .primaryKey()
    .references(() => apps.id, { onDelete: "cascade" }),
  limits: jsonb("limits").$type<Record<string, number>>().notNull(),
  note: text("note"),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Usage per app per UTC hour, rolled up from what the nodes and REST instances count.
 * Days are sums of hours (peak connections: the max).
 */
export const usageHourly = pgTable(
  "usage_hourly",
  {
    appId: text("app_id")
      .notNull()
      .references(() => apps.id, { onDelete: "cascade" }),
    hour: timestamp("hour", { withTimezone: true }).notNull(),
    published: bigint("published", { mode: "number" }).notNull().default(0),
    delivered: bigint("delivered", { mode: "number" }).notNull().default(0),
    bytesPublished: bigint("bytes_published", { mode: "number" }).notNull().default(0),
    bytesDelivered: bigint("bytes_delivered", { mode: "number" }).notNull().default(0),
    peakConnections: integer("peak_connections").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.appId, t.hour] })],
);

/** Notices shown in the console, e.g. 80% of a daily quota used (one per kind per day). */
export const appNotices = pgTable(
  "app_notices",
  {
    id: text("id").primaryKey(),
    appId: text("app_id")
      .notNull()
      .references(() => apps.id, { onDelete: "cascade" }),
    kind: text("kind").notNull(),
    day: text("day").notNull(),
    message: text("message").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("app_notices_once_idx").on(t.appId, t.kind, t.day)],
);

/**
 * Invitations to join an org, by link: the console shows the link (no mail server needed);
 * only its SHA-256 is stored, it works once, for the invited email only, until it expires.
 */
export const invites = pgTable(
  "invites",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    role: text("role", { enum: MEMBER_ROLES }).notNull(),
    tokenHash: text("token_hash").notNull(),
    invitedBy: text("invited_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    acceptedAt: timestamp("accepted_at", { withTimezone: true }),
    acceptedBy: text("accepted_by").references(() => users.id, { onDelete: "set null" }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [index("invites_org_idx").on(t.orgId), uniqueIndex("invites_token_hash_idx").on(t.tokenHash)],
);

/**
 * Password reset links (docs/console.md#password-reset): the token (`pwr_…`) is mailed
 * and stored as SHA-256 only; it works once, within an hour, and a newer request for the
 * same account withdraws the older one.
 */
export const passwordResets = pgTable(
  "password_resets",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    /** Set when the link was used, or withdrawn by a newer request. */
    usedAt: timestamp("used_at", { withTimezone: true }),
  },
  (t) => [
    index("password_resets_user_idx").on(t.userId),
    uniqueIndex("password_resets_token_hash_idx").on(t.tokenHash),
  ],
);

/**
 * Webhook endpoints of an app (docs/webhooks.md). The signing secret is kept as is: the
 * dispatcher signs with it (it is shown to the customer only when made). During a rotation
 * the previous secret signs too, until `previous_secret_expires_at`. `lease_*`: the
 * dispatcher that is delivering to the endpoint now (one request in flight per endpoint).
 */
export const webhookEndpoints = pgTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    appId: text("app_id")
      .notNull()
      .references(() => apps.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    description: text("description").notNull().default(""),
    events: text("events").array().notNull(),
    /** Room patterns whose client publishes are sent (`client.published` is opt-in per pattern). */
    clientRooms: text("client_rooms").array().notNull().default(sql`'{}'::text[]`),
    enabled: boolean("enabled").notNull().default(true),
    disabledReason: text("disabled_reason"),
    secret: text("secret").notNull(),
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: timestamp("previous_secret_expires_at", { withTimezone: true }),
    /** The first failure since the last success: 24 h of failures disable the endpoint. */
    failingSince: timestamp("failing_since", { withTimezone: true }),
    leaseUntil: timestamp("lease_until", { withTimezone: true }),
    leaseToken: text("lease_token"),
    createdAt: createdAt(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("webhook_endpoints_app_idx").on(t.appId)],
);

export const WEBHOOK_DELIVERY_STATUSES = ["pending", "delivered", "dead"] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

/**
 * The outbox: one row per event and endpoint, from the moment the event is ingested until
 * it is delivered or dead-lettered, then kept as the delivery log (7 days). `seq` orders an
 * endpoint's events; the unique (endpoint, event) pair makes ingestion idempotent.
 */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    seq: bigserial("seq", { mode: "number" }).notNull(),
    appId: text("app_id")
      .notNull()
      .references(() => apps.id, { onDelete: "cascade" }),
    endpointId: text("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    /** The event exactly as sent (`WebhookEvent`). */
    event: jsonb("event").$type<Record<string, unknown>>().notNull(),
    status: text("status", { enum: WEBHOOK_DELIVERY_STATUSES }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull().defaultNow(),
    lastAttemptAt: timestamp("last_attempt_at", { withTimezone: true }),
    lastStatusCode: integer("last_status_code"),
    lastLatencyMs: integer("last_latency_ms"),
    lastError: text("last_error"),
    lastResponse: text("last_response"),
    deliveredAt: timestamp("delivered_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_once_idx").on(t.endpointId, t.eventId),
    index("webhook_deliveries_queue_idx").on(t.endpointId, t.status, t.seq),
    index("webhook_deliveries_app_idx").on(t.appId, t.createdAt),
  ],
);

/** Every request made for a delivery (a batch appears once per delivery it carried). */
export const webhookAttempts = pgTable(
  "webhook_attempts",
  {
    id: text("id").primaryKey(),
    deliveryId: text("delivery_id")
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    /** The request's `webhook-id`. */
    requestId: text("request_id").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    statusCode: integer("status_code"),
    latencyMs: integer("latency_ms").notNull(),
    error: text("error"),
    response: text("response"),
    batchSize: integer("batch_size").notNull(),
  },
  (t) => [index("webhook_attempts_delivery_idx").on(t.deliveryId), index("webhook_attempts_at_idx").on(t.at)],
);
