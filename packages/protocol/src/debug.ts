import type { ErrorCode } from "./errors.js";

/**
 * The console's live tail (docs/console.md#the-debug-console). One reserved room per app,
 * named outside the room-name alphabet (`#` is not in `ROOM_NAME_PATTERN`), so no customer
 * room, capability pattern (`*` included: patterns only ever match valid names) or token
 * can name it. Only a connection whose token carries the `debug` claim, which only the
 * control plane's `apps.debugToken` mints, may subscribe to it; anyone else asking gets
 * `RESERVED_ROOM`.
 */
export const DEBUG_ROOM = "#debug";

/**
 * At most this many debug events per second per app leave each process (realtime node or
 * REST instance); what is over it is counted and reported as one `dropped` event a second.
 */
export const DEBUG_EVENTS_PER_SECOND = 50;
/** A publish's data is previewed as its JSON cut to this many characters. */
export const DEBUG_PREVIEW_CHARS = 256;

export function isDebugRoom(room: unknown): boolean {
  return room === DEBUG_ROOM;
}

export const DEBUG_EVENT_KINDS = [
  "connect",
  "disconnect",
  "subscribe",
  "unsubscribe",
  "publish",
  "refused",
  "dropped",
] as const;
export type DebugEventKind = (typeof DEBUG_EVENT_KINDS)[number];

/**
 * One event of an app's traffic, as the process that saw it reports it (server → client
 * `debug`, only to connections subscribed to the app's `DEBUG_ROOM`). Fields beyond
 * `kind`, `ts` and `node` depend on the kind.
 */
export interface DebugEvent {
  kind: DebugEventKind;
  /** Server time, ms since the epoch. */
  ts: number;
  /** The process that saw it: a realtime node's id, or `rest:<id>` for a REST instance. */
  node: string;
  /** The connection concerned (connect, disconnect, subscribe, unsubscribe, client publish, refusals). */
  connectionId?: string;
  /** Its token's user, when it has one. */
  userId?: string;
  room?: string;
  /** publish: the event name. */
  event?: string;
  /** publish: the offset the message took, and its epoch. */
  offset?: number;
  epoch?: string;
  /** publish: size of the data in bytes (JSON, UTF-8). */
  size?: number;
  /** publish: the data's JSON, cut to DEBUG_PREVIEW_CHARS characters. */
  preview?: string;
  /** publish: cut short. */
  truncated?: boolean;
  /** publish: a client's publish, a REST publish, a message of a REST batch, a REST publish to one user. */
  source?: "client" | "rest" | "batch" | "user";
  /** publish to one user: the user. */
  user?: string;
  /** refused: what was refused (`connect`, `subscribe`, `publish`, …, or the REST route). */
  request?: string;
  /** refused: the error code; disconnect: the code of the server's notice, when it sent one. */
  code?: ErrorCode;
  /** disconnect: Socket.IO's reason (`transport close`, `client namespace disconnect`, …). */
  reason?: string;
  /** connect: the transport (`websocket`, `polling`). */
  transport?: string;
  /** dropped: events over the cap since the last `dropped` event of this process. */
  count?: number;
}
