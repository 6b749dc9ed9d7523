/** Room and event name rules (DESIGN §4), shared by the SDK and every service. */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9_\-=@,.;:]{1,200}$/;
export const MAX_EVENT_NAME_LENGTH = 64;
/** Limits of one REST request (as Pusher: channels ≤ 100 per event). */
export const MAX_ROOMS_PER_PUBLISH = 100;
export const MAX_MESSAGES_PER_BATCH = 100;
/** Default message size limit in bytes (the plan may lower or raise it). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;
/**
 * Deepest nesting of arrays and objects in a message's data (`{"a":[1]}` is depth 2).
 * Socket.IO's encoder walks packets recursively: a few thousand levels, though far under
 * any size limit, overflow its stack. Real payloads (rich-text trees included) stay well
 * within 32 levels; the limit leaves room and keeps every process far from that edge.
 */
export const MAX_DATA_DEPTH = 64;

/**
 * A connection id as clients see it (`socket.id`, `from.connectionId`): Socket.IO's
 * 20-character base64url ids. Checked before such an id is used to reach anything.
 */
export const CONNECTION_ID_PATTERN = /^[A-Za-z0-9_-]{20}$/;

export function isValidConnectionId(id: unknown): id is string {
  return typeof id === "string" && CONNECTION_ID_PATTERN.test(id);
}

/** Longest user id (a token's `sub`, `POST /v1/tokens`'s `userId`): any characters, 1-200. */
export const MAX_USER_ID_LENGTH = 200;

export function isValidUserId(id: unknown): id is string {
  return typeof id === "string" && id.length >= 1 && id.length <= MAX_USER_ID_LENGTH;
}

export function isValidRoomName(room: unknown): room is string {
  return typeof room === "string" && ROOM_NAME_PATTERN.test(room);
}

export function isValidEventName(event: unknown): event is string {
  return typeof event === "string" && event.length >= 1 && event.length <= MAX_EVENT_NAME_LENGTH;
}

/**
 * True when `data` nests arrays and objects deeper than `maxDepth`. Walks iteratively
 * (an explicit stack), so no input can overflow the call stack here, and stops at the
 * first branch that is too deep.
 */
export function exceedsDepth(data: unknown, maxDepth: number = MAX_DATA_DEPTH): boolean {
  if (data === null || typeof data !== "object") return false;
  const stack: Array<{ value: object; depth: number }> = [{ value: data, depth: 1 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (item.depth > maxDepth) return true;
    const children = Array.isArray(item.value) ? item.value : Object.values(item.value);
    for (const child of children) {
      if (child !== null && typeof child === "object") stack.push({ value: child, depth: item.depth + 1 });
    }
  }
  return false;
}

const utf8 = new TextEncoder();
/** Node's Buffer counts UTF-8 bytes without encoding (servers, every publish); browsers encode. */
const nodeBuffer = (globalThis as { Buffer?: { byteLength(text: string, encoding: "utf8"): number } }).Buffer;
const utf8Length: (text: string) => number = nodeBuffer
  ? (text) => nodeBuffer.byteLength(text, "utf8")
  : (text) => utf8.encode(text).length;

/** Size of a message's data as it travels: its JSON encoding in UTF-8 bytes. */
export function messageSize(data: unknown): number {
  return utf8Length(JSON.stringify(data ?? null));
}
