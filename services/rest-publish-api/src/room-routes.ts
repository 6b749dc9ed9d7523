import { isValidRoomName, RelaybaseError } from "@relaybase/protocol";
import {
  errorResponses,
  MAX_ROOM_CURSOR_LENGTH,
  MAX_ROOM_LIST_PAGE,
  type PresenceReader,
  type RoomHistory,
  type RoomOccupancyReader,
  roomKey,
  type TenantDirectory,
  throwIfInvalid,
  type ZodTypeProvider,
} from "@relaybase/server-kit";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { appKeyErrors, appParams, authorizeApp } from "./publish-routes.js";

export interface RoomRouteDeps {
  directory: TenantDirectory;
  /** Subscribers per room on every live node (Redis), or the in-process node's when embedded. */
  occupancy: RoomOccupancyReader;
  /** Member counts of presence rooms. */
  presence: PresenceReader;
  /** The room's position (last offset, epoch). */
  history: RoomHistory;
}

export const roomListQuery = z
  .object({
    prefix: z
      .string()
      .max(200)
      .optional()
      .describe("Only rooms whose name starts with this; itself follows the room name rules."),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_ROOM_LIST_PAGE)
      .optional()
      .describe(`Rooms per page, 1-${MAX_ROOM_LIST_PAGE} (default 100).`),
    cursor: z
      .string()
      .min(1)
      .max(MAX_ROOM_CURSOR_LENGTH)
      .optional()
      .describe("`nextCursor` of the previous page (same prefix); absent for the first page."),
  })
  .strict();

const subscribers = z.number().int().describe("Connections subscribed to the room on every live node.");
const members = z.number().int().describe("Presence members (distinct users) in the room; 0 when none.");

export const roomListResponse = z.object({
  rooms: z.array(z.object({ room: z.string(), subscribers, members })).describe("Ordered by room name."),
  nextCursor: z.string().optional().describe("Pass as `cursor` for the next page; absent on the last page."),
});

export const roomInfoResponse = z.object({
  room: z.string(),
  subscribers,
  members,
  offset: z.number().int().describe("The room's last offset (0: nothing published in this epoch)."),
  epoch: z.string().describe("The room's history epoch, as subscribe acks and the history API give it."),
});

const roomParams = appParams.extend({ room: z.string().describe("The room, as clients name it.") });

/**
 * `GET /v1/apps/:appId/rooms` (occupied rooms, paged) and `GET /v1/apps/:appId/rooms/:room`
 * (one room, occupied or not), as Pusher's channel list and channel info. Occupied means at
 * least one subscriber (docs/rest-api.md).
 */
export function registerRoomRoutes(server: FastifyInstance, deps: RoomRouteDeps): void {
  const app = server.withTypeProvider<ZodTypeProvider>();
  const errors = errorResponses(...appKeyErrors, "INVALID_ROOM_NAME", "UNAVAILABLE");
  app.get(
    "/v1/apps/:appId/rooms",
    {
      attachValidation: true,
      schema: {
        summary: "One page of the app's occupied rooms with their subscribers and presence members",
        security: [{ secretKey: [] }],
        params: appParams,
        querystring: roomListQuery,
        response: {
          200: roomListResponse.describe(
            "Rooms with at least one subscriber on a live node (docs/rest-api.md).",
          ),
          ...errors,
        },
      },
    },
    async (req) => {
      // The key first, then the request: a bad key is told before a bad query.
      const tenant = await authorizeApp(req, deps.directory);
      throwIfInvalid(req);
      const { prefix, limit, cursor } = req.query;
      // The app comes from the key, never from the query: a prefix only narrows this app's rooms.
      const page = await deps.occupancy.list(tenant.appId, { prefix, limit, cursor });
      const counts = await Promise.all(page.rooms.map((r) => deps.presence.count(tenant.appId, r.room)));
      return {
        rooms: page.rooms.map((r, i) => ({ ...r, members: counts[i] ?? 0 })),
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      };
    },
  );
  app.get(
    "/v1/apps/:appId/rooms/:room",
    {
      attachValidation: true,
      schema: {
        summary: "One room: subscribers, presence members, last offset and epoch",
        security: [{ secretKey: [] }],
        params: roomParams,
        response: {
          200: roomInfoResponse.describe(
            "The room now; an unoccupied room has 0 subscribers (docs/rest-api.md).",
          ),
          ...errors,
        },
      },
    },
    async (req) => {
      const tenant = await authorizeApp(req, deps.directory);
      throwIfInvalid(req);
      const { room } = req.params;
      if (!isValidRoomName(room)) throw new RelaybaseError("INVALID_ROOM_NAME");
      const [subscriberCount, memberCount, position] = await Promise.all([
        deps.occupancy.subscribers(tenant.appId, room),
        deps.presence.count(tenant.appId, room),
        deps.history.position(roomKey(tenant.appId, room)),
      ]);
      return { room, subscribers: subscriberCount, members: memberCount, ...position };
    },
  );
}
