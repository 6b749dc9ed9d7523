import {
  adapterMaxLenVar,
  boolVar,
  ConfigError,
  loadConfig,
  logLevelVar,
  metricsAppLabelsVar,
  metricsPortVar,
  optionalUrlVar,
  portVar,
  usageFlushVar,
} from "@relaybase/server-kit";
import { z } from "zod";

export const realtimeNodeConfigSchema = z.object({
  PORT: portVar(4001).describe("Port of the Socket.IO server (also /healthz and /readyz)."),
  HOST: z.string().default("127.0.0.1").describe("Interface to listen on; 0.0.0.0 in containers."),
  TOKEN_ISSUER: z
    .string()
    .default("http://localhost:4000")
    .describe("Expected `iss` of connection tokens: the control plane's PUBLIC_URL."),
  JWKS_URL: z
    .url()
    .optional()
    .describe(
      "Where to fetch the token verification keys when the node runs alone " +
        "(default: TOKEN_ISSUER + /.well-known/jwks.json). Unused in the all-in-one process.",
    ),
  RECOVERY_MAX_DISCONNECTION_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(120_000)
    .describe(
      "Socket.IO connection state recovery window (layer 1). Room history (layer 2) covers longer gaps.",
    ),
  MAX_PACKET_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1_000_000)
    .describe(
      "Largest Socket.IO packet accepted (maxHttpBufferSize). A bigger packet closes the connection; " +
        "messages under it but over the app's message limit get MESSAGE_TOO_LARGE in their ack.",
    ),
  SHUTDOWN_DEADLINE_MS: z.coerce
    .number()
    .int()
    .nonnegative()
    .default(10_000)
    .describe("On SIGTERM: how long to wait for clients to leave before closing the rest."),
  REDIS_URL: optionalUrlVar().describe(
    "Redis for the cluster: the Socket.IO streams adapter, room history and the tenant directory. " +
      "Required when the node runs alone (`npm start -w services/realtime-node`); unused in the all-in-one process.",
  ),
  ADAPTER_MAX_LEN: adapterMaxLenVar(),
  CONNECTION_LEASE_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(3_000)
    .describe(
      "Cluster connection counts: each node's counts live this long past its last refresh (every third of it), " +
        "so a node that dies stops counting within this time. Shorter frees a dead node's quota share sooner; " +
        "each refresh is one small Redis script per node.",
    ),
  PRESENCE_GRACE_MS: z.coerce
    .number()
    .int()
    .nonnegative()
    .default(5_000)
    .describe(
      "Presence: a connection that drops without saying goodbye stays present this long, so a client that " +
        "reconnects (to any node) and enters again in time shows others no leave and enter (docs/presence.md). " +
        "0: it leaves at once.",
    ),
  PRESENCE_LEASE_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(5_000)
    .describe(
      "Presence in a cluster: each node's members live under a lease it renews every fifth of this; when a node " +
        "dies, another node removes its members and announces their leave within this time plus a fifth of it " +
        "(6 s by default; docs/presence.md).",
    ),
  ROOM_WEBHOOK_DEBOUNCE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(3_000)
    .describe(
      "Webhooks `room.occupied` / `room.vacated` (docs/webhooks.md): a room is judged this long after its last " +
        "change, from the cluster-wide count, so a subscriber that leaves and comes back (a reconnect, to any " +
        "node) within it sends neither event.",
    ),
  ROOM_LEASE_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(5_000)
    .describe(
      "Room occupancy in a cluster (`GET /v1/apps/:appId/rooms`): each node's subscriber counts live this long past " +
        "its last renewal (every fifth of it), so the rooms of a node that dies leave the counts within this time.",
    ),
  TRUST_PROXY: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe(
      "How many reverse proxies in front of the node append to X-Forwarded-For. 0: the client's address is the " +
        "TCP peer; n: the address the outermost of those n proxies saw (X-Forwarded-For read from the right). " +
        "Connect rate limits per IP use it.",
    ),
  USAGE_FLUSH_MS: usageFlushVar(),
  METRICS_PORT: metricsPortVar(),
  METRICS_APP_LABELS: metricsAppLabelsVar(),
  ADMIN_UI_ENABLED: boolVar(false).describe(
    "Serve the Socket.IO Admin UI (https://admin.socket.io) in the `/admin` namespace of this node, for " +
      "operators: basic auth, production mode (aggregated counts only). Needs ADMIN_UI_PASSWORD_HASH.",
  ),
  ADMIN_UI_USERNAME: z.string().min(1).default("admin").describe("Admin UI user name."),
  ADMIN_UI_PASSWORD_HASH: z
    .preprocess(
      (v) => (v === "" ? undefined : v),
      z
        .string()
        .regex(
          /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/,
          "must be a bcrypt hash ($2a$/$2b$/$2y$, 60 characters)",
        )
        .optional(),
    )
    .describe(
      "bcrypt hash of the Admin UI password (never the password itself), e.g. " +
        "`node -e \"console.log(require('bcryptjs').hashSync(process.argv[1], 12))\" 'a long password'` in the " +
        "repository. Required when ADMIN_UI_ENABLED.",
    ),
  ADMIN_UI_READONLY: boolVar(true).describe(
    "Admin UI without actions: false lets an operator emit to, join, leave and disconnect sockets, across tenants.",
  ),
  ADMIN_UI_SERVER_ID: z
    .preprocess((v) => (v === "" ? undefined : v), z.string().min(1).max(200).optional())
    .describe(
      "How this node is named in the Admin UI. Unset: `<hostname>#<pid>` (the pod name in Kubernetes).",
    ),
  LOG_LEVEL: logLevelVar,
});

export type RealtimeNodeConfig = z.infer<typeof realtimeNodeConfigSchema>;

export function loadRealtimeNodeConfig(
  env: Record<string, string | undefined> = process.env,
): RealtimeNodeConfig {
  const config = loadConfig(realtimeNodeConfigSchema, env);
  if (config.ADMIN_UI_ENABLED && !config.ADMIN_UI_PASSWORD_HASH) {
    throw new ConfigError(
      "Invalid configuration:\n  ADMIN_UI_PASSWORD_HASH: required when ADMIN_UI_ENABLED is true (the Admin UI never runs without a password)",
    );
  }
  return config;
}
