/**
 * History reads (`history` over the socket, `GET …/rooms/:room/history` over REST),
 * shared by the SDK and every service. No zod here (the SDK imports this module).
 */

/** Messages per history page when the request gives no `limit`. */
export const DEFAULT_HISTORY_PAGE = 100;
/** Largest `limit` a history page (socket or REST) may ask for. */
export const MAX_HISTORY_PAGE = 1000;
/**
 * `forward`: oldest first, offsets after `since` (default 0: from the oldest kept).
 * `backward`: newest first, offsets before `since` (default: from the newest).
 */
export const HISTORY_DIRECTIONS = ["forward", "backward"] as const;
export type HistoryDirection = (typeof HISTORY_DIRECTIONS)[number];
export const DEFAULT_HISTORY_DIRECTION: HistoryDirection = "forward";
