import { DEFAULT_ROOM_LIST_PAGE } from "@relaybase/server-kit";
import { z } from "zod";
import { appProcedure } from "../../trpc.js";
import { roomSources } from "./sources.js";

/**
 * The app's occupied rooms with their subscribers now, cluster-wide (docs/rooms.md), a page
 * at a time by name; what the console's room inspector lists. The occupancy reader checks
 * the prefix and cursor (BAD_REQUEST / INVALID_ROOM_NAME).
 */
export const list = appProcedure
  .input(
    z.object({
      prefix: z.string().max(200).optional(),
      cursor: z.string().max(300).optional(),
    }),
  )
  .output(
    z.object({
      rooms: z.array(z.object({ room: z.string(), subscribers: z.number() })),
      nextCursor: z.string().optional(),
    }),
  )
  .query(async ({ ctx, input }) => {
    const { occupancy } = roomSources(ctx.services);
    return occupancy.list(ctx.app.id, {
      prefix: input.prefix || undefined,
      cursor: input.cursor,
      limit: DEFAULT_ROOM_LIST_PAGE,
    });
  });
