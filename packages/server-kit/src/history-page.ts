import {
  DEFAULT_HISTORY_DIRECTION,
  DEFAULT_HISTORY_PAGE,
  exceedsDepth,
  type HistoryDirection,
  type HistoryPage,
  type MessageEnvelope,
} from "@relaybase/protocol";
import type { RoomHistory } from "./history.js";
import { retentionOf } from "./publisher.js";
import { roomKey } from "./rooms.js";
import type { AppRuntime } from "./tenant-directory.js";

export interface HistoryPageRequest {
  room: string;
  since?: number | undefined;
  limit?: number | undefined;
  direction?: HistoryDirection | undefined;
}

/**
 * One page of a room's history as the socket `history` request and the REST history
 * route answer it: envelopes as subscribers received them, the room's position, and the
 * offsets of stored entries that can no longer be delivered. The caller has checked the
 * room name and the right to read it; the tenant prefix comes from `app`.
 */
export async function readHistoryPage(
  history: RoomHistory,
  app: AppRuntime,
  request: HistoryPageRequest,
): Promise<HistoryPage> {
  const { room } = request;
  const read = await history.read(
    roomKey(app.appId, room),
    {
      ...(request.since === undefined ? {} : { since: request.since }),
      limit: request.limit ?? DEFAULT_HISTORY_PAGE,
      direction: request.direction ?? DEFAULT_HISTORY_DIRECTION,
    },
    retentionOf(app),
  );
  const { epoch } = read.position;
  const messages: MessageEnvelope[] = [];
  const skipped: number[] = [];
  for (const m of read.messages) {
    // As in a subscribe replay: an entry kept from before MAX_DATA_DEPTH is skipped.
    if (exceedsDepth(m.data)) skipped.push(m.offset);
    else messages.push({ room, ...m, epoch });
  }
  return { ...read.position, messages, ...(skipped.length > 0 ? { skipped } : {}) };
}
