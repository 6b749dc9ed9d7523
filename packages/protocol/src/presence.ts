/**
 * Presence limits (docs/presence.md), shared by the SDK and every service. No zod here:
 * the SDK imports this module and must not pull zod into browser bundles.
 */

/** Largest member `data`, in bytes of its JSON encoding (Pusher's user info limit). */
export const MAX_PRESENCE_DATA_BYTES = 1024;
/** Members per `presence.get` page when the request gives no `limit`. */
export const DEFAULT_PRESENCE_PAGE = 100;
/** Largest `limit` a `presence.get` page (socket or REST) may ask for. */
export const MAX_PRESENCE_PAGE = 1000;
/** Longest `cursor` accepted (a cursor is an opaque string the server handed out). */
export const MAX_PRESENCE_CURSOR_LENGTH = 1024;
