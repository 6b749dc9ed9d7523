/** Room and event name rules (DESIGN §4), shared by the SDK and every service. */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9_\-=@,.;:]{1,200}$/;
export const MAX_EVENT_NAME_LENGTH = 64;
/** Limits of one REST request (as Pusher: channels ≤ 100 per event). */
export const MAX_ROOMS_PER_PUBLISH = 100;
export const MAX_MESSAGES_PER_BATCH = 100;
/** Default message size limit in bytes (the plan may lower or raise it). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

export function isValidRoomName(room: unknown): room is string {
  return typeof room === "string" && ROOM_NAME_PATTERN.test(room);
}

export function isValidEventName(event: unknown): event is string {
  return typeof event === "string" && event.length >= 1 && event.length <= MAX_EVENT_NAME_LENGTH;
}

const utf8 = new TextEncoder();

/** Size of a message's data as it travels: its JSON encoding in UTF-8 bytes. */
export function messageSize(data: unknown): number {
  return utf8.encode(JSON.stringify(data ?? null)).length;
}
