/**
 * Generates docs/errors.md and docs/configuration.md from the code (the error table and
 * each service's zod config schema), the plan tables inside docs/limits.md (from
 * PLANS), and docs/openapi/*.json (the OpenAPI documents the services serve, from the
 * routes' zod schemas), so the docs cannot drift from what runs.
 * `npm run docs` writes them; tests/docs.test.ts fails when they are stale.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  controlPlaneConfigSchema,
  createControlPlane,
  loadControlPlaneConfig,
} from "@relaybase/control-plane";
import { ERROR_CODES, type ErrorCode } from "@relaybase/protocol";
import { realtimeNodeConfigSchema } from "@relaybase/realtime-node";
import { createRestPublishApi, restPublishApiConfigSchema } from "@relaybase/rest-publish-api";
import {
  createLogger,
  MemoryTenantDirectory,
  PLAN_IDS,
  PLANS,
  type PlanLimits,
  type Publisher,
} from "@relaybase/server-kit";
import { z } from "zod";

/** Where each code shows up. Typed by the table, so a new code cannot go undocumented. */
const WHERE: Record<ErrorCode, string> = {
  BAD_REQUEST: "REST bodies (malformed JSON, missing fields), socket acks (malformed payload), tRPC input",
  INVALID_ROOM_NAME: "subscribe/publish/presence acks, REST publish and presence",
  INVALID_EVENT_NAME: "publish ack, REST publish",
  MESSAGE_TOO_LARGE: "publish ack, REST publish (also a body over BODY_LIMIT_BYTES)",
  DATA_TOO_DEEP:
    "publish ack, REST publish and batch, `presence.enter`/`presence.update` acks: `data` nests arrays/objects deeper than MAX_DATA_DEPTH",
  INVALID_CONNECTION_ID: "REST publish and batch: `exceptConnectionId` is not a connection id",
  INVALID_USER_ID: "REST users/:userId routes: the user id is not 1-200 characters",
  IDEMPOTENCY_CONFLICT:
    "publish ack, REST publish and batch: the id was already used in this room for another event or data",
  TOO_MANY_ROOMS: "REST publish (`rooms` > 100), REST batch (> 100 messages)",
  INVALID_KEY:
    "connect error (unknown/revoked publishable key), REST and POST /v1/tokens (unknown/revoked secret key)",
  WRONG_KEY_TYPE: "connect error (a secret key in a client), REST (a publishable key)",
  TOKEN_INVALID:
    "connect error, `auth` ack: bad signature, alg none/HS*, wrong audience or issuer, malformed claims",
  TOKEN_EXPIRED: "connect error, `notice` before the server closes a socket whose token expired",
  USER_DISCONNECTED: "`notice` before the server closes a socket after `POST …/users/:userId/disconnect`",
  TOKEN_APP_MISMATCH: "connect error: the token names another app than the key",
  KEY_APP_MISMATCH: "REST: the secret key belongs to another app than the path's",
  ORIGIN_NOT_ALLOWED: "connect error: the browser's Origin is not in the app's allowed origins",
  CAPABILITY_DENIED: "subscribe/publish acks, `presence.*` acks (docs/presence.md)",
  RESERVED_ROOM:
    "`subscribe` ack: the console's debug room (`#debug`) without a debug token (docs/console.md#the-debug-console)",
  PRESENCE_USER_REQUIRED:
    "`presence.enter`/`presence.update` acks: the connection has no user id (no token, or a token without `sub`)",
  PRESENCE_DATA_TOO_LARGE:
    "`presence.enter`/`presence.update` acks: member data over MAX_PRESENCE_DATA_BYTES (1 KiB)",
  PRESENCE_ROOM_FULL:
    "`presence.enter`/`presence.update` acks: the room has the plan's `presenceMembersPerRoom` members (a user already in it may add connections)",
  CLIENT_PUBLISH_DISABLED: "publish ack when the app turned client publishing off",
  UNAUTHENTICATED: "console (tRPC) without a session",
  INVALID_CREDENTIALS: "console login",
  FORBIDDEN: "console (tRPC): not a member of the app's org",
  NOT_FOUND: "REST unknown route, console objects that do not exist or are not yours",
  APP_NOT_FOUND: "REST: the app in the path does not exist",
  CONFLICT: "console signup with an email already registered",
  BILLING_DISABLED:
    "console billing procedures (tRPC `billing.checkout`, `billing.portal`) and POST /webhooks/stripe when STRIPE_SECRET_KEY is unset",
  RATE_LIMITED:
    "publish ack (more than the plan's client publishes per second on one connection; a connection that keeps " +
    "sending after it is refused also gets it as a `notice` and is disconnected), REST publish and batch (more " +
    "than the app's REST publishes per second; `Retry-After`), console login and signup attempts (tRPC " +
    "`data.retryAfter` and `Retry-After`; LOGIN_ATTEMPTS_PER_MINUTE, SIGNUPS_PER_HOUR)",
  OVER_CONNECTION_QUOTA:
    "connect error: the app already has its plan's concurrent connections across the cluster (docs/limits.md)",
  CONNECT_RATE_LIMITED: "connect error: too many new connections per second to this app from one IP address",
  TOO_MANY_SUBSCRIPTIONS: "subscribe ack: the connection is already in the plan's rooms per connection",
  DAILY_QUOTA_EXCEEDED:
    "publish ack, REST publish and batch (`Retry-After`: seconds until midnight UTC): the app used its messages for the day",
  SERVER_SHUTTING_DOWN: "connect error and `notice` while a node drains; /readyz",
  UNAVAILABLE: "/readyz of the control plane when the database does not answer",
  TIMEOUT:
    "SDK: a publish or token refresh not acknowledged within its deadline (safe to retry with the same id)",
  INTERNAL: "anywhere; the cause is logged on the server and never sent",
};

const RETRY_TEXT = {
  never: "no: fix the request",
  backoff: "yes, with backoff",
  now: "reconnect now",
  reauth: "after getting a new token",
} as const;

export function errorsMarkdown(): string {
  const rows = (Object.keys(ERROR_CODES) as ErrorCode[]).map((code) => {
    const info = ERROR_CODES[code];
    return `| \`${code}\` | ${info.status} | ${RETRY_TEXT[info.retry]} (\`${info.retry}\`) | ${info.message} | ${WHERE[code]} |`;
  });
  return `<!-- Generated by \`npm run docs\` from packages/protocol/src/errors.ts. Do not edit by hand. -->
# Error codes

Every error Relaybase returns has the same shape, wherever it appears:

\`\`\`json
{ "code": "CAPABILITY_DENIED", "message": "This connection may not publish to chat:1.", "retry": "never" }
\`\`\`

- **Socket.IO connect errors**: \`connect_error\` with \`err.data\` = the object above.
- **Acks** (\`subscribe\`, \`publish\`, \`unsubscribe\`, \`auth\`): \`{ ok: false, error }\`.
- **Notices**: the server sends \`notice\` with the object right before it closes a socket.
- **REST**: the HTTP status below and a body \`{ "error": { code, message, retry } }\`.
- **Console (tRPC)**: the tRPC error's \`data.relaybaseCode\`.
- **SDK**: errors thrown or emitted by \`@relaybase/sdk\` carry \`code\` and \`retry\`.

\`retry\` says what a client should do: \`never\` (the request is wrong), \`backoff\` (transient:
retry with exponential backoff), \`now\` (reconnect at once; another node takes you), \`reauth\`
(get a fresh token, then retry). The SDK follows it by itself.

Rate limits and quotas add \`retryAfter\`: the seconds until a retry can succeed (REST sends it
as the \`Retry-After\` header too). See docs/limits.md.

| code | HTTP | retry? | meaning | where it appears |
|---|---|---|---|---|
${rows.join("\n")}
`;
}

export function configurationMarkdown(): string {
  const section = (title: string, intro: string, schema: z.ZodObject) => {
    const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as {
      properties: Record<string, { description?: string; default?: unknown }>;
    };
    const rows = Object.entries(json.properties).map(([name, prop]) => {
      const def = prop.default === undefined ? "—" : `\`${String(prop.default)}\``;
      return `| \`${name}\` | ${def} | ${(prop.description ?? "").replaceAll("|", "\\|")} |`;
    });
    return `## ${title}\n\n${intro}\n\n| variable | default | meaning |\n|---|---|---|\n${rows.join("\n")}\n`;
  };
  return `<!-- Generated by \`npm run docs\` from each service's zod config schema. Do not edit by hand. -->
# Configuration

Each service reads its environment once at start through one zod schema and stops with a
message naming every bad variable. The all-in-one process (\`npm start\`) reads all three
sets from one environment; there, \`PORT\` is replaced by \`CONTROL_PLANE_PORT\` (default 4000),
\`REALTIME_PORT\` (4001) and \`REST_PORT\` (4002), and the realtime node's \`TOKEN_ISSUER\` is
the control plane's \`PUBLIC_URL\` (unset: \`http://localhost:<CONTROL_PLANE_PORT>\`, so changing the
port alone keeps tokens and their issuer in step). \`METRICS_PORT\`, read by all three, opens one
listener there whose \`/metrics\` holds every service's series and the process metrics once.

${section("Control plane (`services/control-plane`)", "Accounts, apps, keys, tokens, the console API.", controlPlaneConfigSchema)}
${section("Realtime node (`services/realtime-node`)", "Socket.IO connections.", realtimeNodeConfigSchema)}
${section("REST publish API (`services/rest-publish-api`)", "Server-side publishing.", restPublishApiConfigSchema)}`;
}

/**
 * Every plan limit, what it means, where it is enforced and what a caller sees. Typed by
 * PlanLimits, so a new limit cannot go undocumented.
 */
const LIMIT_DOCS: Record<keyof PlanLimits, { meaning: string; enforced: string; refusal: string }> = {
  maxConnections: {
    meaning: "Concurrent connections of one app, across the cluster",
    enforced: "handshake, after the token: the cluster-wide count (per-node leases in Redis)",
    refusal: "connect error `OVER_CONNECTION_QUOTA` (403, retry `never`: the SDK goes to `failed`)",
  },
  connectionsPerSecondPerIp: {
    meaning: "New connections per second to one app from one IP address",
    enforced: "handshake, after the connection quota; shared by the cluster (Redis)",
    refusal: "connect error `CONNECT_RATE_LIMITED` (429, `backoff`, `retryAfter`)",
  },
  roomsPerConnection: {
    meaning: "Rooms one connection may be subscribed to at once",
    enforced: "`subscribe` (re-subscribing a room the connection is in is free)",
    refusal: "subscribe ack `TOO_MANY_SUBSCRIPTIONS` (400, `never`)",
  },
  clientPublishesPerSecond: {
    meaning: "Client publishes per second, per connection",
    enforced: "client `publish`, first check; in the node's memory (a connection lives on one node)",
    refusal:
      "publish ack `RATE_LIMITED` (429, `backoff`, `retryAfter`); over 3× the limit refused within 3 s: " +
      "`notice` `RATE_LIMITED`, then disconnected",
  },
  restPublishesPerSecond: {
    meaning: "REST publishes per second, per app (a publish counts 1, a batch 1 per message)",
    enforced: "REST publish and batch, after validation; shared by the cluster (Redis)",
    refusal:
      "429 `RATE_LIMITED` + `Retry-After`; a batch with more messages than the limit: 400 `TOO_MANY_ROOMS`",
  },
  messagesPerDay: {
    meaning: "Messages published per app per UTC day, client and REST together; one per room reached",
    enforced: "both publish paths, after size and rate, before anything is stored (Redis / memory)",
    refusal: "publish ack / 429 `DAILY_QUOTA_EXCEEDED` + `Retry-After` (seconds until 00:00 UTC)",
  },
  maxMessageBytes: {
    meaning: "Largest message `data`, in bytes of its JSON encoding",
    enforced: "both publish paths (the Publisher), before anything is stored or counted",
    refusal: "publish ack / 413 `MESSAGE_TOO_LARGE` (`never`)",
  },
  historySize: {
    meaning: "Messages kept per room for recovery and replay",
    enforced: "room history (trimmed on append); never refuses",
    refusal: "older messages leave history; a `since` before them gets `recovered: false`",
  },
  historyTtlSeconds: {
    meaning: "How long a message stays in its room's history",
    enforced: "room history; never refuses",
    refusal: "as for `historySize`",
  },
  presenceMembersPerRoom: {
    meaning: "Presence members (distinct user ids) in one room, across the cluster",
    enforced:
      "`presence.enter`/`presence.update` of a user not yet in the room (atomic in Redis; docs/presence.md)",
    refusal: "presence ack `PRESENCE_ROOM_FULL` (403, `never`)",
  },
  webhookEndpoints: {
    meaning: "Webhook endpoints of one app (docs/webhooks.md)",
    enforced: "tRPC `webhooks.create`",
    refusal: "tRPC error `BAD_REQUEST` (400, `never`) naming the limit",
  },
  webhookDeliveriesPerSecond: {
    meaning: "Webhook requests sent per second for one app (a batch of events counts once), per dispatcher",
    enforced: "the webhook dispatcher, before each request; never refuses",
    refusal: "nothing is dropped: due events wait for the next second (and travel in larger batches)",
  },
};

function formatLimit(limit: keyof PlanLimits, value: number): string {
  if (limit === "maxMessageBytes") return value % 1024 === 0 ? `${value / 1024} KiB` : `${value} B`;
  if (limit === "historyTtlSeconds") {
    if (value % 3600 === 0) return `${value / 3600} h`;
    if (value % 60 === 0) return `${value / 60} min`;
    return `${value} s`;
  }
  return value.toLocaleString("en-US");
}

const LIMITS_START =
  "<!-- plans:start (generated by `npm run docs` from packages/server-kit/src/plans.ts) -->";
const LIMITS_END = "<!-- plans:end -->";

/** The generated part of docs/limits.md: the plans and, per limit, where and how it is enforced. */
export function limitsTables(): string {
  const limits = Object.keys(LIMIT_DOCS) as (keyof PlanLimits)[];
  const plans = `| limit | ${PLAN_IDS.join(" | ")} | meaning |\n|---|${PLAN_IDS.map(() => "---:|").join("")}---|\n${limits
    .map(
      (l) =>
        `| \`${l}\` | ${PLAN_IDS.map((p) => formatLimit(l, PLANS[p][l])).join(" | ")} | ${LIMIT_DOCS[l].meaning} |`,
    )
    .join("\n")}`;
  const enforcement = `| limit | enforced | a caller over it sees |\n|---|---|---|\n${limits
    .map((l) => `| \`${l}\` | ${LIMIT_DOCS[l].enforced} | ${LIMIT_DOCS[l].refusal} |`)
    .join("\n")}`;
  return `${LIMITS_START}\n${plans}\n\n${enforcement}\n${LIMITS_END}`;
}

/** docs/limits.md with its generated tables brought up to date (the prose around them is kept). */
export function withLimitsTables(doc: string): string {
  const start = doc.indexOf(LIMITS_START);
  const end = doc.indexOf(LIMITS_END);
  if (start === -1 || end < start)
    throw new Error("docs/limits.md lacks the plans:start / plans:end markers");
  return doc.slice(0, start) + limitsTables() + doc.slice(end + LIMITS_END.length);
}

/**
 * The OpenAPI documents exactly as each service serves them at `/openapi.json`, by file
 * name under docs/openapi/. The control plane's is taken with OPERATOR_TOKEN set, so it
 * includes the operator routes (absent from a server without it). No request is served:
 * the REST API's dependencies are stand-ins, the control plane runs on a throwaway PGlite.
 */
export async function openApiDocuments(): Promise<Record<string, string>> {
  const logger = createLogger("docs", "silent");
  const rest = createRestPublishApi({
    config: { BODY_LIMIT_BYTES: 1 },
    directory: new MemoryTenantDirectory(),
    publisher: {} as Publisher,
    logger,
    connections: { count: async () => 0 },
  });
  const dataDir = await mkdtemp(join(tmpdir(), "rb-docs-"));
  const controlPlane = await createControlPlane({
    config: loadControlPlaneConfig({
      DATA_DIR: dataDir,
      LOG_LEVEL: "silent",
      OPERATOR_TOKEN: "docs-generation-only-operator-token",
    }),
    directory: new MemoryTenantDirectory(),
    logger,
  });
  try {
    await rest.ready();
    const json = (document: unknown) => `${JSON.stringify(document, null, 2)}\n`;
    return {
      "rest-publish-api.json": json(rest.swagger()),
      "control-plane.json": json(controlPlane.app.swagger()),
    };
  } finally {
    await rest.close();
    await controlPlane.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(new URL("../docs/errors.md", import.meta.url), errorsMarkdown());
  writeFileSync(new URL("../docs/configuration.md", import.meta.url), configurationMarkdown());
  const limitsDoc = new URL("../docs/limits.md", import.meta.url);
  writeFileSync(limitsDoc, withLimitsTables(readFileSync(limitsDoc, "utf8")));
  mkdirSync(new URL("../docs/openapi/", import.meta.url), { recursive: true });
  for (const [name, text] of Object.entries(await openApiDocuments())) {
    writeFileSync(new URL(`../docs/openapi/${name}`, import.meta.url), text);
  }
  console.log(
    "wrote docs/errors.md, docs/configuration.md, the tables in docs/limits.md and docs/openapi/*.json",
  );
}
