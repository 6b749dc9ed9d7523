import type { Logger } from "@relaybase/server-kit";
import type { RealtimeServer } from "./types.js";

/** socket.io-parser's PacketType.EVENT. */
const EVENT_PACKET = 2;

/**
 * Emits one event to a Socket.IO room through the adapter: local sockets now, every node
 * with a cluster adapter. The one way the node broadcasts (messages, skip markers, user
 * messages, presence changes). It calls the adapter itself rather than `io.to(room).emit`,
 * because a cluster adapter's broadcast is async and `emit` drops its promise: a failure
 * there (an encoder error, Redis) would be an unhandled rejection. Here it is logged with
 * its room. `room` and `except` are keys made by server-kit's room functions, never input.
 */
export function adapterBroadcast(
  io: RealtimeServer,
  logger: Pick<Logger, "error">,
  event: string,
  payload: unknown,
  room: string,
  except?: string,
): void {
  const packet = { type: EVENT_PACKET, data: [event, payload], nsp: "/" };
  const opts = { rooms: new Set([room]), except: new Set(except ? [except] : []), flags: {} };
  const pending: unknown = io.of("/").adapter.broadcast(packet, opts);
  if (pending instanceof Promise) {
    pending.catch((err: unknown) => logger.error({ err, room, event }, "broadcast failed in the adapter"));
  }
}
