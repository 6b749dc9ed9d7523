import {
  ConfigError,
  loadConfig,
  logLevelVar,
  metricsAppLabelsVar,
  metricsPortVar,
  optionalUrlVar,
  portVar,
} from "@relaybase/server-kit";
import { z } from "zod";

/** Treats an empty variable (common in Helm values and .env files) as unset. */
const unsetIfEmpty = (v: unknown) => (v === "" ? undefined : v);

/** A true/false variable (`true`, `false`, `1`, `0`; empty is unset). */
const flagVar = (fallback: boolean) =>
  z
    .preprocess(unsetIfEmpty, z.enum(["true", "false", "1", "0"]).optional())
    .transform((v) => (v === undefined ? fallback : v === "true" || v === "1"));

/** The default retry schedule: 10 retries over about 25.7 h (docs/webhooks.md). */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS = [
  5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000, 36_000_000,
];

/**
 * The control plane's environment, parsed once at start (DESIGN §7). Every variable has
 * a description and, where it makes sense, a default; docs/configuration.md is generated
 * from these.
 */
export const controlPlaneConfigSchema = z.object({
  PORT: portVar(4000).describe("HTTP port of the control plane (console API, tokens, JWKS)."),
  HOST: z.string().min(1).default("127.0.0.1").describe("Interface to listen on; 0.0.0.0 in containers."),
  DATABASE_URL: z
    .preprocess(unsetIfEmpty, z.url().optional())
    .describe("Postgres connection string (postgres://…). Unset: embedded PGlite in DATA_DIR/pglite."),
  DATA_DIR: z
    .string()
    .min(1)
    .default(".data")
    .describe("Folder for embedded state; PGlite lives in DATA_DIR/pglite. Used only without DATABASE_URL."),
  PUBLIC_URL: optionalUrlVar().describe(
    "Public base URL of the control plane; the `iss` of every token and the JWKS location. " +
      "Unset: http://localhost:PORT (so a changed port changes the issuer with it).",
  ),
  SESSION_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(30 * 24 * 3600)
    .default(7 * 24 * 3600)
    .describe("Lifetime of a console session cookie, in seconds (default 7 days)."),
  COOKIE_SECURE: z
    .preprocess(
      unsetIfEmpty,
      z
        .enum(["true", "false", "1", "0"])
        .transform((v) => v === "true" || v === "1")
        .optional(),
    )
    .describe(
      "Mark the session cookie Secure (HTTPS only). Unset: true when PUBLIC_URL is https://, else false " +
        "(plain-HTTP local development). Set it to true in any deployment served over HTTPS.",
    ),
  REDIS_URL: optionalUrlVar().describe(
    "Distributed mode: Redis for the tenant directory that realtime nodes and REST instances read, and for the " +
      "login and signup limits every replica shares. Unset: both live in this process (embedded).",
  ),
  TRUST_PROXY: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe(
      "How many reverse proxies in front of the control plane append to X-Forwarded-For. 0: the client's " +
        "address is the TCP peer; n: the address the outermost of those n proxies saw. The login and signup " +
        "limits per IP use it; behind a proxy, leave it at 0 and every client shares the proxy's budget.",
    ),
  LOGIN_ATTEMPTS_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(1)
    .default(10)
    .describe(
      "Console login attempts per email and client IP per minute (a fixed window, counted before the password " +
        "is checked, so right and wrong passwords count alike). Over it: RATE_LIMITED with Retry-After.",
    ),
  SIGNUPS_PER_HOUR: z.coerce
    .number()
    .int()
    .min(1)
    .default(20)
    .describe(
      "Console signups per client IP per hour (a fixed window; refused and failed signups count too). " +
        "Over it: RATE_LIMITED with Retry-After.",
    ),
  PASSWORD_RESETS_PER_HOUR: z.coerce
    .number()
    .int()
    .min(1)
    .default(5)
    .describe(
      "Password reset requests per email per hour, and 4× that per client IP (fixed windows, counted whether " +
        "or not the account exists, so the limit reveals nothing). Over it: RATE_LIMITED with Retry-After.",
    ),
  SMTP_URL: z
    .preprocess(unsetIfEmpty, z.url({ protocol: /^smtps?$/ }).optional())
    .describe(
      "Where the control plane sends mail (password reset links, team invites): `smtp://user:pass@host:587` " +
        "(STARTTLS when the server offers it) or `smtps://user:pass@host:465` (TLS). Unset: no mail is sent; " +
        "each mail is written to the log instead (an operator can pass the link on), and the console says so.",
    ),
  MAIL_FROM: z
    .preprocess(unsetIfEmpty, z.string().min(3).max(200).optional())
    .describe(
      "The From of the control plane's mail, e.g. `Relaybase <no-reply@example.com>`. Unset: `Relaybase <no-reply@` + PUBLIC_URL's host + `>`.",
    ),
  USAGE_ROLLUP_MS: z.coerce
    .number()
    .int()
    .min(100)
    .default(5_000)
    .describe(
      "How often usage is rolled into Postgres: with REDIS_URL, the deltas nodes and REST instances flushed to " +
        "Redis are taken and added to usage_hourly; connections are sampled for the hour's peak; apps at 80% of " +
        "their daily message quota get a notice.",
    ),
  OPERATOR_TOKEN: z
    .preprocess(unsetIfEmpty, z.string().min(24).optional())
    .describe(
      "Enables the operator API (`/operator/v1/…`: per-app limit overrides) for requests carrying it as a " +
        "Bearer token; at least 24 characters. Unset: the operator API does not exist.",
    ),
  CONSOLE_DIR: z
    .preprocess(unsetIfEmpty, z.string().min(1).optional())
    .describe(
      "Folder of the built console (web/console/dist), served at `/`. Unset: the build in this repository " +
        "(`npm run build -w @relaybase/console`; `npm start` builds it when missing or stale).",
    ),
  REALTIME_PUBLIC_URL: optionalUrlVar().describe(
    "Public URL of the realtime nodes, shown in the console's snippets and used by its test client. " +
      "Unset: the all-in-one fills in its own; a standalone control plane shows a placeholder.",
  ),
  REST_PUBLIC_URL: optionalUrlVar().describe(
    "Public URL of the REST publish API, shown in the console's snippets. Unset: as REALTIME_PUBLIC_URL.",
  ),
  WEBHOOK_DISPATCHER: flagVar(true).describe(
    "Run the webhook dispatcher in this process (docs/webhooks.md). false: run `dispatcher-main.ts` on its own " +
      "(needs DATABASE_URL and REDIS_URL); replicas may each run one, they share the work through leases.",
  ),
  WEBHOOK_ALLOW_PRIVATE_URLS: flagVar(false).describe(
    "Allow webhook URLs that resolve to loopback, private, link-local or metadata addresses (checked when an " +
      "endpoint is saved and again at every delivery). For self-hosters whose receivers are on their network, " +
      "and for tests. Leave false in a hosted service.",
  ),
  WEBHOOK_ALLOW_HTTP: flagVar(false).describe(
    "Allow plain http:// webhook URLs. Unset (false): https:// only, as a hosted service requires.",
  ),
  WEBHOOK_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(60_000)
    .default(10_000)
    .describe("A webhook request that has not answered after this long is a failed attempt (retried)."),
  WEBHOOK_MAX_RESPONSE_BYTES: z.coerce
    .number()
    .int()
    .min(1_024)
    .default(64 * 1024)
    .describe(
      "Bytes of a receiver's answer read at most; the connection is closed past it (the status counts).",
    ),
  WEBHOOK_RETRY_SCHEDULE_MS: z
    .preprocess(
      unsetIfEmpty,
      z
        .string()
        .regex(/^\d+(,\d+)*$/, "comma-separated milliseconds")
        .transform((v) => v.split(",").map(Number))
        .optional(),
    )
    .transform((v) => v ?? DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS)
    .describe(
      "Delays before each retry of a failed webhook, in ms, comma-separated; each gets 0-20% jitter added. " +
        "After the last, the delivery is dead-lettered. Default: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, " +
        "4 h, 8 h, 10 h (about 25.7 h). Tests shorten it.",
    ),
  WEBHOOK_DISABLE_AFTER_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(86_400_000)
    .describe("An endpoint whose requests have all failed for this long is disabled, with a console notice."),
  WEBHOOK_LEASE_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(30_000)
    .describe(
      "How long a dispatcher holds an endpoint while delivering to it; a dispatcher killed mid-delivery has " +
        "that endpoint's events re-sent by another (or by itself after a restart) once it lapses. Keep it " +
        "above WEBHOOK_TIMEOUT_MS.",
    ),
  WEBHOOK_POLL_MS: z.coerce
    .number()
    .int()
    .min(10)
    .default(500)
    .describe("How often the dispatcher looks for due deliveries (new events also wake it at once)."),
  WEBHOOK_BATCH_MAX: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000)
    .default(100)
    .describe("Events one webhook request carries at most when many are due for an endpoint."),
  WEBHOOK_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000)
    .default(32)
    .describe("Endpoints one dispatcher delivers to at once (one request in flight per endpoint)."),
  METRICS_PORT: metricsPortVar(),
  METRICS_APP_LABELS: metricsAppLabelsVar(),
  LOG_LEVEL: logLevelVar,
  STRIPE_SECRET_KEY: z
    .preprocess(unsetIfEmpty, z.string().min(1).optional())
    .describe(
      "Stripe secret API key (sk_live_… or sk_test_…, or a restricted rk_… key). Unset: billing is off and " +
        "every org keeps its plan (free by default). Set: STRIPE_WEBHOOK_SECRET, STRIPE_PRICE_PRO and " +
        "STRIPE_PRICE_SCALE are required too (docs/billing.md).",
    ),
  STRIPE_WEBHOOK_SECRET: z
    .preprocess(unsetIfEmpty, z.string().min(1).optional())
    .describe(
      "Signing secret (whsec_…) of the Stripe webhook endpoint PUBLIC_URL/webhooks/stripe; every event's " +
        "signature is checked against it.",
    ),
  STRIPE_PRICE_PRO: z
    .preprocess(unsetIfEmpty, z.string().min(1).optional())
    .describe("Stripe price id (price_…) of the pro plan; a subscription on this price puts the org on pro."),
  STRIPE_PRICE_SCALE: z
    .preprocess(unsetIfEmpty, z.string().min(1).optional())
    .describe(
      "Stripe price id (price_…) of the scale plan; a subscription on this price puts the org on scale.",
    ),
  STRIPE_API_URL: optionalUrlVar().describe(
    "Base URL of the Stripe API (scheme, host, port), for a local stand-in in tests. Unset: https://api.stripe.com.",
  ),
});

/** Billing needs all of these once STRIPE_SECRET_KEY is set; a half-configured billing fails at start. */
const STRIPE_REQUIRED = ["STRIPE_WEBHOOK_SECRET", "STRIPE_PRICE_PRO", "STRIPE_PRICE_SCALE"] as const;

export type ControlPlaneConfig = Omit<
  z.infer<typeof controlPlaneConfigSchema>,
  "COOKIE_SECURE" | "PUBLIC_URL"
> & {
  COOKIE_SECURE: boolean;
  /** Without a trailing slash; derived from PORT when unset. */
  PUBLIC_URL: string;
};

/** Parses the environment; throws a `ConfigError` naming each bad variable. */
export function loadControlPlaneConfig(
  env: Record<string, string | undefined> = process.env,
): ControlPlaneConfig {
  const parsed = loadConfig(controlPlaneConfigSchema, env);
  if (parsed.STRIPE_SECRET_KEY) {
    const problems = STRIPE_REQUIRED.filter((name) => !parsed[name]).map(
      (name) => `  ${name}: required when STRIPE_SECRET_KEY is set`,
    );
    if (parsed.STRIPE_PRICE_PRO && parsed.STRIPE_PRICE_PRO === parsed.STRIPE_PRICE_SCALE) {
      problems.push("  STRIPE_PRICE_SCALE: must differ from STRIPE_PRICE_PRO");
    }
    if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n${problems.join("\n")}`);
  }
  const publicUrl = (parsed.PUBLIC_URL ?? `http://localhost:${parsed.PORT}`).replace(/\/+$/, "");
  return {
    ...parsed,
    PUBLIC_URL: publicUrl,
    COOKIE_SECURE: parsed.COOKIE_SECURE ?? publicUrl.startsWith("https://"),
  };
}
