import type { DebugEvent } from "./debug.js";
import type { WireError } from "./errors.js";
import type { HistoryPayload, Position, PublishPayload, SubscribePayload } from "./schemas.js";

/** Protocol version; bumped on incompatible wire changes (docs/protocol.md). */
export const PROTOCOL_VERSION = 1;

/** Who published a message: the publishing connection and, when it had a token, its user. */
export interface MessageSource {
  connectionId: string;
  userId?: string;
}

/** A message as delivered to subscribers (server → client `message`). */
export interface MessageEnvelope<TData = unknown> {
  room: string;
  event: string;
  data: TData;
  /** Publisher-chosen id (client publishes) or server-made id (REST); used for dedup. */
  id: string;
  /** Position in the room: 1, 2, 3, … without holes within one epoch. */
  offset: number;
  /** Names the room's history; a change means history was lost. */
  epoch: string;
  /** Server time of publication, ms since the epoch. */
  ts: number;
  from?: MessageSource;
}

/**
 * A message to one user on all their connections (server → client `user.message`, sent by
 * `POST /v1/apps/:appId/users/:userId/publish`). Not in any room: no offset, not stored,
 * so not replayed by `subscribe` with `since` (docs/protocol.md#messages-to-one-user).
 */
export interface UserMessage<TData = unknown> {
  /** The user it was sent to (the token's `sub`). */
  user: string;
  event: string;
  data: TData;
  /** The `id` given to the REST call, or a server-made `m_…`; the same on every connection. */
  id: string;
  /** Server time of publication, ms since the epoch. */
  ts: number;
}

/**
 * Sent instead of a message to the one connection a REST publish excluded
 * (`exceptConnectionId`), so its offsets stay contiguous without the data.
 */
export interface SkipMarker {
  room: string;
  offset: number;
  epoch: string;
}

export type Ack<T> = ({ ok: true } & T) | { ok: false; error: WireError };

export interface SubscribeAckBody extends Position {
  /**
   * Present when the request carried `since`: true when every message after `since`
   * is in `messages`; false when history no longer reaches back (a gap).
   */
  recovered?: boolean;
  /** Messages after `since`, oldest first (only when `since` was given). */
  messages?: MessageEnvelope[];
  /**
   * Offsets within the replay whose message cannot be delivered (stored before today's
   * validation rules); they count as skipped, like a `skip` marker.
   */
  skipped?: number[];
}
export type SubscribeAck = Ack<SubscribeAckBody>;
export type UnsubscribeAck = Ack<Record<never, never>>;
export type PublishAck = Ack<{ id: string; offset: number; epoch: string }>;
export type AuthAck = Ack<{ exp: number }>;

/**
 * One member of a room's presence set (docs/presence.md): one per `userId` however many
 * connections the user has in the room. `connectionId` and `data` are those of the user's
 * connection that entered or updated last.
 */
export interface PresenceMember<TData = unknown> {
  userId: string;
  connectionId: string;
  data: TData;
}

export type PresenceAction = "enter" | "update" | "leave";

/**
 * A change of a room's presence set (server → client `presence`), sent to the room's
 * subscribers. `enter`: the user's first connection entered; `update`: the member's data
 * (or the connection it is shown with) changed; `leave`: the user's last connection left.
 */
export interface PresenceEvent<TData = unknown> {
  room: string;
  action: PresenceAction;
  member: PresenceMember<TData>;
}

export interface PresenceEnterPayload {
  room: string;
  /** Any JSON up to MAX_PRESENCE_DATA_BYTES; `null` when absent. */
  data?: unknown;
}
export interface PresenceLeavePayload {
  room: string;
}
export interface PresenceGetPayload {
  room: string;
  /** `nextCursor` of the previous page; absent for the first page. */
  cursor?: string;
  /** Members per page, 1–MAX_PRESENCE_PAGE. @default DEFAULT_PRESENCE_PAGE */
  limit?: number;
}

/** One page of a room's members, ordered by `userId`. */
export interface PresencePage<TData = unknown> {
  members: PresenceMember<TData>[];
  /** Pass as `cursor` to get the next page; absent on the last page. */
  nextCursor?: string;
}

/**
 * One page of a room's stored messages (`history`): in the page's direction, with the
 * room's current position. Offsets are positions within `epoch`.
 */
export interface HistoryPage {
  offset: number;
  epoch: string;
  messages: MessageEnvelope[];
  /** Offsets in the page whose stored message can no longer be delivered (see SubscribeAckBody). */
  skipped?: number[];
}
export type HistoryAck = Ack<HistoryPage>;

export type PresenceAck = Ack<Record<never, never>>;
export type PresenceGetAck = Ack<PresencePage>;

/** Events a client sends (Socket.IO typed event map). */
export interface ClientToServerEvents {
  subscribe: (payload: SubscribePayload, ack: (res: SubscribeAck) => void) => void;
  unsubscribe: (payload: { room: string }, ack: (res: UnsubscribeAck) => void) => void;
  publish: (payload: PublishPayload, ack: (res: PublishAck) => void) => void;
  /** Replace the connection's token before it expires. */
  auth: (payload: { token: string }, ack: (res: AuthAck) => void) => void;
  /** Enter the room's presence set with member data (or replace this connection's data). */
  "presence.enter": (payload: PresenceEnterPayload, ack: (res: PresenceAck) => void) => void;
  /** Replace this connection's member data; enters when the connection has not entered yet. */
  "presence.update": (payload: PresenceEnterPayload, ack: (res: PresenceAck) => void) => void;
  /** Leave the room's presence set (this connection; the user leaves with their last one). */
  "presence.leave": (payload: PresenceLeavePayload, ack: (res: PresenceAck) => void) => void;
  /** One page of the room's stored messages (needs the `history` capability). */
  history: (payload: HistoryPayload, ack: (res: HistoryAck) => void) => void;
  /** One page of the room's members. */
  "presence.get": (payload: PresenceGetPayload, ack: (res: PresenceGetAck) => void) => void;
}

/** Events the server sends. */
export interface ServerToClientEvents {
  message: (envelope: MessageEnvelope) => void;
  /** A message at this offset was published with this connection excluded. */
  skip: (marker: SkipMarker) => void;
  /** Sent right before the server closes a connection, saying why and what to do. */
  notice: (error: WireError) => void;
  /** A message to this connection's user, on every connection of theirs. */
  "user.message": (message: UserMessage) => void;
  /** A change of the presence set of a room this connection is subscribed to. */
  presence: (event: PresenceEvent) => void;
  /** One event of the app's traffic, to a connection subscribed to DEBUG_ROOM (the console). */
  debug: (event: DebugEvent) => void;
}

/** Handshake `auth` payload. */
export interface HandshakeAuth {
  key: string;
  token?: string;
}
