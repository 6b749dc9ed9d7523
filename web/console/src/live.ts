import type { DebugEvent, MessageMeta, RelaybaseClient, Room } from "@relaybase/sdk";
import { api } from "./api";

export interface Arrival {
  event: string;
  data: unknown;
  offset: number;
  room: string;
  ts: number;
  from: { connectionId: string; userId?: string } | undefined;
}

/**
 * The console as a client of the platform: `@relaybase/sdk` (loaded only when a page needs
 * it, so it stays out of the main bundle), authenticated with a short-lived console token
 * the control plane mints for the signed-in member (`apps.consoleToken`).
 */
export async function openLiveClient(options: {
  appId: string;
  publishableKey: string;
  realtimeUrl: string;
  onState?: (state: string) => void;
}): Promise<RelaybaseClient> {
  const { createClient } = await import("@relaybase/sdk");
  const client = createClient({
    key: options.publishableKey,
    url: options.realtimeUrl,
    getToken: async () => (await api.apps.consoleToken.mutate({ appId: options.appId })).token,
  });
  if (options.onState) {
    const onState = options.onState;
    client.on("state", (change) => onState(change.current));
  }
  return client;
}

/** Delivers every message of `room` to `onMessage`; returns the function that stops it. */
export function listen(room: Room, onMessage: (arrival: Arrival) => void): () => void {
  return room.on("*", (data: unknown, meta: MessageMeta) =>
    onMessage({
      event: meta.event,
      data,
      offset: meta.offset,
      room: meta.room,
      ts: meta.ts,
      from: meta.from,
    }),
  );
}

export async function openLiveRoom(options: {
  appId: string;
  publishableKey: string;
  realtimeUrl: string;
  room: string;
  onMessage: (arrival: Arrival) => void;
}): Promise<{ room: Room; client: RelaybaseClient; close(): void }> {
  const client = await openLiveClient(options);
  const room = client.room(options.room);
  listen(room, options.onMessage);
  try {
    await room.subscribe();
  } catch (err) {
    client.close();
    throw err;
  }
  return { room, client, close: () => client.close() };
}

/**
 * The app's live tail (docs/console.md#the-debug-console): its own SDK connection with a
 * debug token (`apps.debugToken`), which may subscribe to the app's reserved debug room and
 * nothing else. The platform sends at most DEBUG_EVENTS_PER_SECOND events a second per app
 * from each process, and says how many it dropped.
 */
export async function openDebugTail(options: {
  appId: string;
  publishableKey: string;
  realtimeUrl: string;
  onEvent: (event: DebugEvent) => void;
  onState?: (state: string) => void;
}): Promise<{ client: RelaybaseClient; close(): void }> {
  const { createClient } = await import("@relaybase/sdk");
  const client = createClient({
    key: options.publishableKey,
    url: options.realtimeUrl,
    getToken: async () => (await api.apps.debugToken.mutate({ appId: options.appId })).token,
  });
  if (options.onState) {
    const onState = options.onState;
    client.on("state", (change) => onState(change.current));
  }
  const tail = client.debugTail();
  tail.on(options.onEvent);
  try {
    await tail.start();
  } catch (err) {
    client.close();
    throw err;
  }
  return { client, close: () => client.close() };
}
