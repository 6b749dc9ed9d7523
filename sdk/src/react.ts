/**
 * `@relaybase/sdk/react`: a provider and hooks over one `RelaybaseClient`. React is an
 * optional peer dependency of the SDK; only this entry imports it.
 *
 * Rooms are shared: every hook that needs a room subscribed takes a reference on it, the
 * first reference subscribes and the last one to go unsubscribes, one macrotask later. So
 * StrictMode's mount → unmount → mount (React 18/19, development) neither unsubscribes nor
 * subscribes twice, and two components on one room share one subscription.
 */
import {
  createContext,
  createElement,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} from "react";
import type { ConnectionState, RelaybaseClient } from "./client.js";
import type { PresenceMember, RoomPresence } from "./presence.js";
import type { DefaultEvents, EventName, MessageMeta, Room, RoomState } from "./room.js";

// biome-ignore lint/suspicious/noExplicitAny: the context holds a client of any event map; hooks type it.
type AnyClient = RelaybaseClient<any>;

const ClientContext = createContext<AnyClient | null>(null);

export interface RelaybaseProviderProps {
  /**
   * The client the hooks below use. Create it once, outside render (a module-level
   * `createClient(…)`, or a `useState` initializer), so re-renders and StrictMode reuse it.
   */
  client: AnyClient;
  children?: ReactNode;
}

/**
 * Makes a client available to the hooks of its subtree.
 *
 * @example
 * const client = createClient<AppEvents>({ key: "pk_…", url, authEndpoint: "/api/relaybase-token" });
 * root.render(<RelaybaseProvider client={client}><App /></RelaybaseProvider>);
 */
export function RelaybaseProvider({ client, children }: RelaybaseProviderProps) {
  return createElement(ClientContext.Provider, { value: client }, children);
}

/** The provider's client. Throws outside a `RelaybaseProvider`. */
export function useRelaybase<Events extends object = DefaultEvents>(): RelaybaseClient<Events> {
  const client = useContext(ClientContext);
  if (!client) throw new Error("Relaybase hooks need a <RelaybaseProvider client={…}> above them.");
  return client as RelaybaseClient<Events>;
}

/** The connection's state (`connecting`, `connected`, `reconnecting`, …), re-rendering on each change. */
export function useConnectionState(): ConnectionState {
  const client = useRelaybase();
  const subscribe = useCallback((onChange: () => void) => client.on("state", onChange), [client]);
  const snapshot = () => client.state;
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}

export interface UseRoomResult<Events extends object> {
  room: Room<Events>;
  /** `subscribing` until the server confirmed, then `subscribed`; `unsubscribed` after a refusal. */
  state: RoomState;
  /** Why the subscription failed (e.g. `CAPABILITY_DENIED`), if it did. */
  error: Error | undefined;
}

/**
 * Keeps the room subscribed while the component is mounted (shared with every other hook
 * on the same room) and returns it with its subscription state.
 */
export function useRoom<Events extends object = DefaultEvents>(name: string): UseRoomResult<Events> {
  const client = useRelaybase<Events>();
  const room = useMemo(() => client.room(name), [client, name]);
  const [error, setError] = useState<Error | undefined>();
  const subscribe = useCallback(
    (onChange: () => void) => {
      const offs = (["subscribed", "unsubscribed", "resumed", "error"] as const).map((e) =>
        room.onStatus(e, onChange),
      );
      return () => {
        for (const off of offs) off();
      };
    },
    [room],
  );
  const snapshot = () => room.state;
  const state = useSyncExternalStore(subscribe, snapshot, snapshot);
  useEffect(() => {
    setError(undefined);
    return holdRoom(client, room, setError);
  }, [client, room]);
  return { room, state, error };
}

export interface MessageItem<Data, Name extends string = string> {
  data: Data;
  meta: MessageMeta<Name>;
}

export interface UseMessagesOptions {
  /** How many of the latest messages to keep. @default 100 */
  max?: number;
}

/**
 * The room's latest messages of one event (or `"*"`: every event), oldest first, from the
 * moment the component mounted; subscribes the room while mounted.
 *
 * @example
 * const messages = useMessages<AppEvents, "chat">("chat:lobby", "chat");
 * return messages.map(({ data, meta }) => <li key={meta.offset}>{data.text}</li>);
 */
export function useMessages<
  Events extends object = DefaultEvents,
  E extends EventName<Events> = EventName<Events>,
>(name: string, event: E, options: UseMessagesOptions = {}): MessageItem<Events[E], E>[] {
  const max = options.max ?? 100;
  const { room } = useRoom<Events>(name);
  const [items, setItems] = useState<MessageItem<Events[E], E>[]>([]);
  useEffect(() => {
    setItems([]);
    const handler = (data: Events[E], meta: MessageMeta<E>) =>
      setItems((list) => [...list.slice(Math.max(0, list.length + 1 - max)), { data, meta }]);
    // One call for a named event and "*": the overloads differ only in the handler's types.
    const on = room.on.bind(room) as (
      event: string,
      handler: (data: never, meta: never) => void,
    ) => () => void;
    return on(event, handler as (data: never, meta: never) => void);
  }, [room, event, max]);
  return items;
}

export interface UsePresenceOptions<Data> {
  /**
   * Enter the room's presence set with this data while mounted (and update it when it
   * changes). Leaving is deferred like unsubscribing, so StrictMode shows others no leave
   * and enter. Omit to only watch.
   */
  enter?: Data;
}

export interface UsePresenceResult<Data> {
  /** The members now, ordered by user id; re-renders on every enter, update, leave and sync. */
  members: PresenceMember<Data>[];
  /** Why entering failed (e.g. `PRESENCE_USER_REQUIRED`), if it did. */
  error: Error | undefined;
}

/**
 * The room's presence members, kept current while mounted (the room is subscribed meanwhile).
 *
 * @example
 * const { members } = usePresence<{ name: string }>("doc:42", { enter: { name: user.name } });
 */
export function usePresence<Data = unknown>(
  name: string,
  options: UsePresenceOptions<Data> = {},
): UsePresenceResult<Data> {
  const client = useRelaybase();
  const room = useMemo(() => client.room(name), [client, name]);
  const presence = room.presence as unknown as RoomPresence<Data>;
  const cache = useRef<{ presence: unknown; version: number; members: PresenceMember<Data>[] }>({
    presence: undefined,
    version: -1,
    members: [],
  });
  const version = useRef(0);
  const [error, setError] = useState<Error | undefined>();
  const subscribe = useCallback(
    (onChange: () => void) => {
      const bump = () => {
        version.current++;
        onChange();
      };
      const offs = (["enter", "update", "leave", "sync"] as const).map((e) => presence.on(e, bump));
      return () => {
        for (const off of offs) off();
      };
    },
    [presence],
  );
  const members = useSyncExternalStore(
    subscribe,
    () => {
      // A stable array between changes (and per room), as useSyncExternalStore requires.
      const c = cache.current;
      if (c.presence !== presence || c.version !== version.current) {
        const sorted = presence.members.sort((a, b) =>
          a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0,
        );
        cache.current = { presence, version: version.current, members: sorted };
      }
      return cache.current.members;
    },
    () => cache.current.members,
  );
  // Listeners first (above), then the subscription: a subscribe with listeners syncs the set.
  useEffect(() => {
    const wasSubscribed = room.state === "subscribed";
    const release = holdRoom(client, room, setError);
    // Already subscribed by someone else: no subscribe will sync, so read the set now.
    if (wasSubscribed) void presence.get().catch((err: Error) => setError(err));
    return release;
  }, [client, room, presence]);
  const entering = options.enter !== undefined;
  const data = JSON.stringify(options.enter ?? null);
  useEffect(() => {
    if (!entering) return;
    return holdPresence(client, room, JSON.parse(data) as unknown, setError);
  }, [client, room, entering, data]);
  return { members, error };
}

/**
 * Typed hooks for one app's event map, so call sites need no type arguments.
 *
 * @example
 * export const { useMessages, useRoom } = createRelaybaseHooks<{ chat: { text: string } }>();
 * const messages = useMessages("chat:lobby", "chat"); // data: { text: string }
 */
export function createRelaybaseHooks<Events extends object>() {
  return {
    useRelaybase: () => useRelaybase<Events>(),
    useConnectionState,
    useRoom: (name: string) => useRoom<Events>(name),
    useMessages: <E extends EventName<Events>>(name: string, event: E, options?: UseMessagesOptions) =>
      useMessages<Events, E>(name, event, options),
    usePresence,
  };
}

// --- shared, reference-counted holds ---

interface Hold {
  count: number;
  /** The pending release, cancelled when a new reference comes before it runs. */
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Only what the hooks started do they stop (a room the app subscribed itself stays). */
  owned: boolean;
}

/** What a hold touches of a room (any event map). */
type HeldRoom = Pick<Room<object>, "name" | "state" | "subscribe" | "unsubscribe" | "presence">;

const roomHolds = new WeakMap<AnyClient, Map<string, Hold>>();
const presenceHolds = new WeakMap<AnyClient, Map<string, Hold & { data: unknown }>>();

function holdsOf<H>(map: WeakMap<AnyClient, Map<string, H>>, client: AnyClient): Map<string, H> {
  let holds = map.get(client);
  if (!holds) {
    holds = new Map();
    map.set(client, holds);
  }
  return holds;
}

/** Takes a reference on the room's subscription; returns its release. */
function holdRoom(client: AnyClient, room: HeldRoom, onError: (err: Error) => void): () => void {
  const holds = holdsOf(roomHolds, client);
  let hold = holds.get(room.name);
  if (!hold) {
    hold = { count: 0, timer: undefined, owned: room.state === "unsubscribed" };
    holds.set(room.name, hold);
  }
  const held = hold;
  held.count++;
  clearTimeout(held.timer);
  held.timer = undefined;
  if (room.state === "unsubscribed") {
    held.owned = true;
    room.subscribe().catch((err: Error) => onError(err));
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    held.count--;
    if (held.count > 0) return;
    held.timer = setTimeout(() => {
      if (held.count > 0) return;
      holds.delete(room.name);
      if (held.owned) void room.unsubscribe().catch(() => {});
    }, 0);
  };
}

/** Takes a reference on this client's presence in the room with `data`; the last release leaves. */
function holdPresence(
  client: AnyClient,
  room: HeldRoom,
  data: unknown,
  onError: (err: Error) => void,
): () => void {
  const holds = holdsOf(presenceHolds, client);
  let hold = holds.get(room.name);
  if (!hold) {
    hold = { count: 0, timer: undefined, owned: true, data: undefined };
    holds.set(room.name, hold);
  }
  const held = hold;
  held.count++;
  clearTimeout(held.timer);
  held.timer = undefined;
  // A first enter, or new data: the same data again (StrictMode's second mount) sends nothing.
  if (!room.presence.entered || JSON.stringify(held.data) !== JSON.stringify(data)) {
    held.data = data;
    room.presence.enter(data).catch((err: Error) => onError(err));
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    held.count--;
    if (held.count > 0) return;
    held.timer = setTimeout(() => {
      if (held.count > 0) return;
      holds.delete(room.name);
      void room.presence.leave().catch(() => {});
    }, 0);
  };
}
