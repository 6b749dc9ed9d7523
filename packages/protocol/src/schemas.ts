import { z } from "zod";
import { CAPABILITIES } from "./capabilities.js";
import { ERROR_CODES, type ErrorCode, RETRY_VALUES } from "./errors.js";
import { HISTORY_DIRECTIONS, MAX_HISTORY_PAGE } from "./history.js";
import { MAX_EVENT_NAME_LENGTH, ROOM_NAME_PATTERN } from "./names.js";
import { MAX_PRESENCE_CURSOR_LENGTH, MAX_PRESENCE_PAGE } from "./presence.js";

/**
 * zod schemas of every payload that crosses a process boundary, the source of their
 * types (`z.infer`). Server code imports them from "@relaybase/protocol/schemas"; the
 * SDK only their types, so zod stays out of its bundle.
 */
export const roomName = z.string().regex(ROOM_NAME_PATTERN, "invalid room name");
export const eventName = z.string().min(1).max(MAX_EVENT_NAME_LENGTH);
export const capabilitiesSchema = z.record(z.string().min(1).max(201), z.array(z.enum(CAPABILITIES)));

/** Where a client stands in a room's history. */
export const positionSchema = z.object({
  offset: z.number().int().nonnegative(),
  epoch: z.string().min(1).max(64),
});
export type Position = z.infer<typeof positionSchema>;

export const subscribeRequest = z.object({ room: z.string(), since: positionSchema.optional() });
export type SubscribePayload = z.infer<typeof subscribeRequest>;
export const unsubscribeRequest = z.object({ room: z.string() });
export const publishRequest = z.object({
  room: z.string(),
  event: z.string(),
  data: z.unknown(),
  id: z.string().min(1).max(64),
});
export type PublishPayload = z.infer<typeof publishRequest>;
export const authRequest = z.object({ token: z.string().min(1) });

/** An error as every edge sends it (acks, connect errors, REST bodies): `WireError`. */
export const wireErrorSchema = z.object({
  code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  retry: z.enum(RETRY_VALUES),
  retryAfter: z
    .number()
    .int()
    .nonnegative()
    .optional()
    .describe("Seconds until a retry can succeed (rate limits, quotas); also the Retry-After header."),
});

/** `presence.enter` and `presence.update`; the data's size and depth are checked by the node. */
export const presenceEnterRequest = z.object({ room: z.string(), data: z.unknown().optional() });
export const presenceLeaveRequest = z.object({ room: z.string() });
export const presencePageQuery = {
  cursor: z.string().min(1).max(MAX_PRESENCE_CURSOR_LENGTH).optional(),
  limit: z.number().int().min(1).max(MAX_PRESENCE_PAGE).optional(),
};
export const presenceGetRequest = z.object({ room: z.string(), ...presencePageQuery });

/** `history`: one page of a room's stored messages (docs/protocol.md#history). */
export const historyRequest = z.object({
  room: z.string(),
  since: z.number().int().nonnegative().optional(),
  limit: z.number().int().min(1).max(MAX_HISTORY_PAGE).optional(),
  direction: z.enum(HISTORY_DIRECTIONS).optional(),
});
export type HistoryPayload = z.infer<typeof historyRequest>;
