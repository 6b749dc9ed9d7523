import {
  isValidRoomName,
  MAX_PRESENCE_CURSOR_LENGTH,
  MAX_PRESENCE_PAGE,
  RelaybaseError,
} from "@relaybase/protocol";
import {
  errorResponses,
  type PresenceReader,
  type TenantDirectory,
  throwIfInvalid,
  type ZodTypeProvider,
} from "@relaybase/server-kit";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { appKeyErrors, appParams, authorizeApp } from "./publish-routes.js";

export interface PresenceRouteDeps {
  directory: TenantDirectory;
  /** The cluster's members (Redis), or the in-process node's when embedded. */
  presence: PresenceReader;
}

export const presenceQuery = z
  .object({
    cursor: z
      .string()
      .min(1)
      .max(MAX_PRESENCE_CURSOR_LENGTH)
      .optional()
      .describe("`nextCursor` of the previous page; absent for the first page."),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_PRESENCE_PAGE)
      .optional()
      .describe(`Members per page, 1-${MAX_PRESENCE_PAGE} (default 100).`),
  })
  .strict();

export const presenceResponse = z.object({
  members: z.array(z.object({ userId: z.string(), connectionId: z.string(), data: z.unknown() })),
  nextCursor: z.string().optional().describe("Pass as `cursor` for the next page; absent on the last page."),
  count: z.number().int().describe("Members in the room now (distinct users)."),
});

const presenceParams = appParams.extend({ room: z.string().describe("The room, as clients name it.") });

/** `GET /v1/apps/:appId/rooms/:room/presence`: one page of a room's members (docs/presence.md). */
export function registerPresenceRoutes(server: FastifyInstance, deps: PresenceRouteDeps): void {
  const app = server.withTypeProvider<ZodTypeProvider>();
  const route = {
    attachValidation: true,
    schema: {
      summary: "One page of a room's presence members, ordered by user id",
      security: [{ secretKey: [] }],
      params: presenceParams,
      querystring: presenceQuery,
      response: {
        200: presenceResponse.describe("Members of the room on every live node (docs/presence.md)."),
        ...errorResponses(...appKeyErrors, "INVALID_ROOM_NAME", "UNAVAILABLE"),
      },
    },
  };
  app.get("/v1/apps/:appId/rooms/:room/presence", route, async (req) => {
    // The key first, then the request: a bad key is told before a bad query.
    const tenant = await authorizeApp(req, deps.directory);
    throwIfInvalid(req);
    const { room } = req.params;
    if (!isValidRoomName(room)) throw new RelaybaseError("INVALID_ROOM_NAME");
    const { cursor, limit } = req.query;
    // The tenant prefix comes from the key's app, never from the path.
    const [page, count] = await Promise.all([
      deps.presence.page(tenant.appId, room, { cursor, limit }),
      deps.presence.count(tenant.appId, room),
    ]);
    return { ...page, count };
  });
}
