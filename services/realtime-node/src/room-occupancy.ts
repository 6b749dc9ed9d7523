import { parseRoomKey, type RoomOccupancy } from "@relaybase/server-kit";
import type { RealtimeServer } from "./types.js";

/**
 * Feeds room occupancy from the adapter's own room events: they fire once per socket and
 * room for every way a socket enters or leaves one (subscribe, unsubscribe, disconnect,
 * Socket.IO recovery, a lost capability), so no handler has to remember to count. Only
 * tenant rooms (`roomKey`) count; connection and user rooms do not.
 */
export function countRoomOccupancy(io: RealtimeServer, occupancy: RoomOccupancy): void {
  const adapter = io.of("/").adapter;
  adapter.on("join-room", (key: string) => {
    const parsed = parseRoomKey(key);
    if (parsed) occupancy.joined(parsed.appId, parsed.room);
  });
  adapter.on("leave-room", (key: string) => {
    const parsed = parseRoomKey(key);
    if (parsed) occupancy.left(parsed.appId, parsed.room);
  });
}
