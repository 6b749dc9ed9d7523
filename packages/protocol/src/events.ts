import type { WireError } from "./errors.js";
import type { Position, PublishPayload, SubscribePayload } from "./schemas.js";

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

/** Events a client sends (Socket.IO typed event map). */
export interface ClientToServerEvents {
  subscribe: (payload: SubscribePayload, ack: (res: SubscribeAck) => void) => void;
  unsubscribe: (payload: { room: string }, ack: (res: UnsubscribeAck) => void) => void;
  publish: (payload: PublishPayload, ack: (res: PublishAck) => void) => void;
  /** Replace the connection's token before it expires. */
  auth: (payload: { token: string }, ack: (res: AuthAck) => void) => void;
}

/** Events the server sends. */
export interface ServerToClientEvents {
  message: (envelope: MessageEnvelope) => void;
  /** A message at this offset was published with this connection excluded. */
  skip: (marker: SkipMarker) => void;
  /** Sent right before the server closes a connection, saying why and what to do. */
  notice: (error: WireError) => void;
}

/** Handshake `auth` payload. */
export interface HandshakeAuth {
  key: string;
  token?: string;
}
