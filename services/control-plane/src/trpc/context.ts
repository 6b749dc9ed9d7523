import type { CookieSerializeOptions } from "@fastify/cookie";
import type { KeyUseStore, Logger } from "@relaybase/server-kit";
import type { CreateFastifyContextOptions } from "@trpc/server/adapters/fastify";
import type { FastifyBaseLogger } from "fastify";
import type { AuthLimits } from "../auth/rate-limit.js";
import { SESSION_COOKIE, type Sessions } from "../auth/session.js";
import type { Billing } from "../billing/index.js";
import type { ControlPlaneConfig } from "../config.js";
import type { Database } from "../db/index.js";
import type { Mailer } from "../mail/mailer.js";
import type { RoomSources } from "../services.js";
import type { SigningKeys } from "../signing-keys.js";
import type { TenantSync } from "../tenants.js";
import type { ControlPlaneMetrics } from "../usage/metrics.js";
import type { UsageService } from "../usage/service.js";
import type { Webhooks } from "../webhooks/service.js";

/** Long-lived parts the procedures use; built once in app.ts. */
export interface Services {
  config: ControlPlaneConfig;
  db: Database;
  logger: Logger;
  sessions: Sessions;
  /** Login and signup limits (shared by replicas through Redis when there is one). */
  authLimits: AuthLimits;
  tenants: TenantSync;
  /** Password reset links and invites: SMTP with SMTP_URL, else written to the log. */
  mailer: Mailer;
  /** Stripe-backed, or disabled without STRIPE_SECRET_KEY (every call answers BILLING_DISABLED). */
  billing: Billing;
  /** Prometheus metrics (GET /metrics). */
  metrics: ControlPlaneMetrics;
  /** Usage rollups into Postgres. */
  usage: UsageService;
  /** Token signing (the console's short-lived tokens; `POST /v1/tokens` uses it too). */
  signing: SigningKeys;
  /** The room inspector's sources; undefined where the control plane cannot reach them. */
  rooms: () => RoomSources | undefined;
  /** Key last-used times (Redis in a cluster, the all-in-one's memory embedded). */
  keyUse?: Pick<KeyUseStore, "lastUsed">;
  /** Webhook URL policy, outbox writer and (WEBHOOK_DISPATCHER) the dispatcher. */
  webhooks: Webhooks;
}

/** How a procedure sets or clears the session cookie, without knowing about HTTP. */
export interface SessionCookie {
  read(): string | undefined;
  set(token: string): void;
  clear(): void;
}

export interface Context {
  services: Services;
  log: FastifyBaseLogger;
  ip: string;
  cookie: SessionCookie;
}

export function createContextFactory(services: Services) {
  const { config, sessions } = services;
  const cookieOptions: CookieSerializeOptions = {
    httpOnly: true,
    sameSite: "lax",
    secure: config.COOKIE_SECURE,
    path: "/",
  };
  return ({ req, res }: CreateFastifyContextOptions): Context => ({
    services,
    log: req.log,
    ip: req.ip,
    cookie: {
      read: () => req.cookies[SESSION_COOKIE],
      set: (token) => {
        res.setCookie(SESSION_COOKIE, token, { ...cookieOptions, maxAge: sessions.ttlSeconds });
      },
      clear: () => {
        res.clearCookie(SESSION_COOKIE, cookieOptions);
      },
    },
  });
}
