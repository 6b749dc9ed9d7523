import type { MessageMeta, RelaybaseClient, Room } from "@relaybase/sdk";
import { api } from "./api";

export interface Arrival {
  event: string;
  data: unknown;
  offset: number;
  room: string;
  from: string | undefined;
}

/**
 * The console as a client of the platform: `@relaybase/sdk` (loaded only when a page needs
 * it, so it stays out of the main bundle), authenticated with a short-lived console token
 * the control plane mints for the signed-in member.
 */
export async function openLiveRoom(options: {
  appId: string;
  publishableKey: string;
  realtimeUrl: string;
  room: string;
  onMessage: (arrival: Arrival) => void;
  onState?: (state: string) => void;
}): Promise<{ room: Room; client: RelaybaseClient; close(): void }> {
  const { createClient } = await import("@relaybase/sdk");
  const client = createClient({
    key: options.publishableKey,
    url: options.realtimeUrl,
    getToken: async () => (await api.apps.consoleToken.mutate({ appId: options.appId })).token,
  });
  client.on("state", (change) => options.onState?.(change.current));
  const room = client.room(options.room);
  room.on("*", (data: unknown, meta: MessageMeta) =>
    options.onMessage({
      event: meta.event,
      data,
      offset: meta.offset,
      room: meta.room,
      from: meta.from?.userId ?? undefined,
    }),
  );
  try {
    await room.subscribe();
  } catch (err) {
    client.close();
    throw err;
  }
  return { room, client, close: () => client.close() };
}
