import {
  DEFAULT_HISTORY_DIRECTION,
  DEFAULT_HISTORY_PAGE,
  HISTORY_DIRECTIONS,
  isValidRoomName,
  MAX_HISTORY_PAGE,
  RelaybaseError,
} from "@relaybase/protocol";
import {
  errorResponses,
  type RoomHistory,
  readHistoryPage,
  type TenantDirectory,
  throwIfInvalid,
  type ZodTypeProvider,
} from "@relaybase/server-kit";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { appKeyErrors, appParams, authorizeApp } from "./publish-routes.js";

export interface HistoryRouteDeps {
  directory: TenantDirectory;
  /** The history publishes write: Redis in a cluster, the node's when embedded. */
  history: RoomHistory;
}

export const historyQuery = z
  .object({
    since: z.coerce
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe(
        "Exclusive offset bound: `forward` returns offsets after it (default 0), `backward` offsets before it (default: from the newest).",
      ),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_HISTORY_PAGE)
      .optional()
      .describe(`Messages per page, 1-${MAX_HISTORY_PAGE} (default ${DEFAULT_HISTORY_PAGE}).`),
    direction: z
      .enum(HISTORY_DIRECTIONS)
      .optional()
      .describe(
        `\`forward\` (oldest first) or \`backward\` (newest first); default \`${DEFAULT_HISTORY_DIRECTION}\`.`,
      ),
  })
  .strict();

const envelope = z.object({
  room: z.string(),
  event: z.string(),
  data: z.unknown(),
  id: z.string(),
  offset: z.number().int(),
  epoch: z.string(),
  ts: z.number().int().describe("Server time of publication, ms since 1970."),
  from: z.object({ connectionId: z.string(), userId: z.string().optional() }).optional(),
});

export const historyResponse = z.object({
  offset: z.number().int().describe("The room's last offset now (0: nothing published in this epoch)."),
  epoch: z.string().describe("The room's history epoch; offsets are positions within it."),
  messages: z.array(envelope).describe("In the page's direction, as subscribers received them."),
  skipped: z
    .array(z.number().int())
    .optional()
    .describe("Offsets in the page whose stored message can no longer be delivered."),
});

const historyParams = appParams.extend({ room: z.string().describe("The room, as clients name it.") });

/** `GET /v1/apps/:appId/rooms/:room/history`: one page of a room's stored messages. */
export function registerHistoryRoutes(server: FastifyInstance, deps: HistoryRouteDeps): void {
  const app = server.withTypeProvider<ZodTypeProvider>();
  const route = {
    attachValidation: true,
    schema: {
      summary: "One page of a room's stored messages, by offset, with its current position",
      security: [{ secretKey: [] }],
      params: historyParams,
      querystring: historyQuery,
      response: {
        200: historyResponse.describe("Messages the room's history keeps (docs/rest-api.md)."),
        ...errorResponses(...appKeyErrors, "INVALID_ROOM_NAME", "UNAVAILABLE"),
      },
    },
  };
  app.get("/v1/apps/:appId/rooms/:room/history", route, async (req) => {
    // The key first, then the request: a bad key is told before a bad query.
    const tenant = await authorizeApp(req, deps.directory);
    throwIfInvalid(req);
    const { room } = req.params;
    if (!isValidRoomName(room)) throw new RelaybaseError("INVALID_ROOM_NAME");
    // The tenant prefix comes from the key's app, never from the path.
    return readHistoryPage(deps.history, tenant, { room, ...req.query });
  });
}
