import { MAX_MESSAGES_PER_BATCH, MAX_ROOMS_PER_PUBLISH } from "@relaybase/protocol";
import { eventName } from "@relaybase/protocol/schemas";
import { z } from "zod";

/**
 * Request and response bodies of the REST API. Room names are checked by the publish
 * path (one place for the rule), so a bad name gets INVALID_ROOM_NAME, not a generic 400.
 */
const roomsField = {
  room: z.string().optional().describe("One room; give either `room` or `rooms`."),
  rooms: z.array(z.string()).min(1).optional().describe(`Up to ${MAX_ROOMS_PER_PUBLISH} rooms.`),
};

export const publishBody = z
  .object({
    ...roomsField,
    event: eventName.describe("Event name, 1-64 characters."),
    data: z.unknown().describe("Any JSON value; its JSON encoding must fit the app's message size limit."),
    id: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe("Idempotency id: a retry with the same id is stored and delivered once per room."),
    exceptConnectionId: z.string().optional().describe("A connection that should not receive the message."),
  })
  .strict();
export type PublishBody = z.infer<typeof publishBody>;

export const batchBody = z
  .object({ messages: z.array(publishBody).min(1).describe(`Up to ${MAX_MESSAGES_PER_BATCH} messages.`) })
  .strict();

export const positionByRoom = z
  .record(z.string(), z.object({ offset: z.number(), epoch: z.string() }))
  .describe("Each room's position of the message: its offset and the room's history epoch.");
export const publishResponse = z.object({
  id: z.string().describe("The message id: the `id` given, or a new `m_…`."),
  offsets: positionByRoom,
});
export const batchResponse = z.object({ results: z.array(publishResponse) });
export const statsResponse = z.object({
  connections: z
    .number()
    .int()
    .nonnegative()
    .describe("Live connections on every node whose lease has not expired."),
});
