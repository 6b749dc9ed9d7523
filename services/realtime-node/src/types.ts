import type { Capabilities, ClientToServerEvents, ServerToClientEvents } from "@relaybase/protocol";
import type { Server, Socket } from "socket.io";

/** What the connection middleware learns about a socket; kept across Socket.IO recovery. */
export interface SocketData {
  appId: string;
  caps: Capabilities;
  userId?: string;
  /** Token expiry in seconds since the epoch; undefined for publishable-key-only connections. */
  exp?: number;
  /** A console's debug token: may subscribe to the app's DEBUG_ROOM (docs/console.md). */
  debug?: true;
}

// biome-ignore lint/complexity/noBannedTypes: no inter-server events yet
type InterServerEvents = {};

export type RealtimeServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;
export type RealtimeSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;
