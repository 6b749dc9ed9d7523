/**
 * `@relaybase/sdk`: the browser (and Node) client. Server-only helpers live in
 * `@relaybase/sdk/server` so that a secret key never ends up in a browser bundle.
 */
export {
  DEBUG_EVENT_KINDS,
  DEBUG_EVENTS_PER_SECOND,
  DEBUG_ROOM,
  type DebugEvent,
  type DebugEventKind,
  ERROR_CODES,
  type ErrorCode,
  type HistoryDirection,
  type HistoryPage,
  type MessageEnvelope,
  type MessageSource,
  type Position,
  type PresenceAction,
  type PresenceEvent,
  RelaybaseError,
  type Retry,
  type UserMessage,
  type WireError,
} from "@relaybase/protocol";
export {
  type ClientEvents,
  type ConnectionState,
  createClient,
  type RelaybaseClient,
  type StateChange,
} from "./client.js";
export type { DebugTail } from "./debug-tail.js";
export { PublishError } from "./errors.js";
export { type ClientOptions, DEFAULTS, type Transport } from "./options.js";
export type { PresenceEvents, PresenceMember, RoomPresence } from "./presence.js";
export type {
  DefaultEvents,
  EventName,
  GapInfo,
  HistoryOptions,
  MessageHandler,
  MessageMeta,
  PublishOptions,
  PublishResult,
  ResumeInfo,
  Room,
  RoomState,
  RoomStatusEvents,
  SubscribeOptions,
} from "./room.js";
