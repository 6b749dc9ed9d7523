import { messageSize } from "@relaybase/protocol";
import { roomName } from "@relaybase/protocol/schemas";
import { debugPreview, readHistoryPage } from "@relaybase/server-kit";
import { z } from "zod";
import { loadAppRuntimes } from "../../../tenants.js";
import { appProcedure } from "../../trpc.js";
import { roomSources } from "./sources.js";

/** Messages per page of the inspector's history. */
export const INSPECT_PAGE = 20;

const messageOutput = z.object({
  offset: z.number(),
  id: z.string(),
  event: z.string(),
  ts: z.number(),
  from: z.object({ connectionId: z.string(), userId: z.string().optional() }).optional(),
  size: z.number(),
  preview: z.string(),
  truncated: z.boolean().optional(),
});

/**
 * One room of the app now: subscribers on every node (docs/rooms.md), its position (last
 * offset and epoch) and its recent history by offset, newest first, `INSPECT_PAGE` at a
 * time (`before`: the oldest offset of the previous page). Data is previewed, not sent
 * whole. The room name is checked like any client's (`roomName`), and the tenant prefix
 * comes from the app the member may see.
 */
export const inspect = appProcedure
  .input(z.object({ room: roomName, before: z.number().int().min(1).optional() }))
  .output(
    z.object({
      room: z.string(),
      subscribers: z.number(),
      offset: z.number(),
      epoch: z.string(),
      messages: z.array(messageOutput),
      /** Pass as `before` for the next (older) page; absent when the page reached the oldest kept. */
      olderBefore: z.number().optional(),
    }),
  )
  .query(async ({ ctx, input }) => {
    const { occupancy, history } = roomSources(ctx.services);
    // The app's retention (plan and overrides), as the node reads it: what it still keeps.
    const runtime = (await loadAppRuntimes(ctx.services.db, [ctx.app.id])).get(ctx.app.id);
    if (!runtime) throw new Error(`app ${ctx.app.id} has no runtime`);
    const [subscribers, page] = await Promise.all([
      occupancy.subscribers(ctx.app.id, input.room),
      readHistoryPage(history, runtime, {
        room: input.room,
        direction: "backward",
        limit: INSPECT_PAGE,
        ...(input.before === undefined ? {} : { since: input.before }),
      }),
    ]);
    const messages = page.messages.map((m) => ({
      offset: m.offset,
      id: m.id,
      event: m.event,
      ts: m.ts,
      ...(m.from ? { from: m.from } : {}),
      size: messageSize(m.data),
      ...debugPreview(m.data),
    }));
    const oldest = messages.at(-1)?.offset;
    return {
      room: input.room,
      subscribers,
      offset: page.offset,
      epoch: page.epoch,
      messages,
      ...(messages.length === INSPECT_PAGE && oldest !== undefined && oldest > 1
        ? { olderBefore: oldest }
        : {}),
    };
  });
