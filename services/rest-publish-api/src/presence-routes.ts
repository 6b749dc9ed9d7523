import {
  isValidRoomName,
  MAX_PRESENCE_CURSOR_LENGTH,
  MAX_PRESENCE_PAGE,
  RelaybaseError,
} from "@relaybase/protocol";
import type { PresenceReader, TenantDirectory } from "@relaybase/server-kit";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { authorizeApp } from "./publish-routes.js";

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

const roomParam = z.object({ room: z.string() });

/** `GET /v1/apps/:appId/rooms/:room/presence`: one page of a room's members (docs/presence.md). */
export function registerPresenceRoutes(app: FastifyInstance, deps: PresenceRouteDeps): void {
  app.get("/v1/apps/:appId/rooms/:room/presence", async (req) => {
    const tenant = await authorizeApp(req, deps.directory);
    const { room } = roomParam.parse(req.params);
    if (!isValidRoomName(room)) throw new RelaybaseError("INVALID_ROOM_NAME");
    const { cursor, limit } = presenceQuery.parse(req.query);
    // The tenant prefix comes from the key's app, never from the path.
    const [page, count] = await Promise.all([
      deps.presence.page(tenant.appId, room, { cursor, limit }),
      deps.presence.count(tenant.appId, room),
    ]);
    return { ...page, count };
  });
}
