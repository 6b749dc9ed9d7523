// @vitest-environment happy-dom
/**
 * `@relaybase/sdk/react` rendered by React (Testing Library, happy-dom) against a real
 * realtime node (in-process, port 0), in StrictMode as apps run it in development: the
 * double mount neither leaves nor subscribes twice, unmounting cleans up.
 */
import type { Capabilities, PresenceEvent } from "@relaybase/protocol";
import { type NodeFixture, startNode } from "@relaybase/realtime-node/testing";
import type { AppRuntime } from "@relaybase/server-kit";
import { act, cleanup, render, screen } from "@testing-library/react";
import { createElement as h, StrictMode, useState } from "react";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createClient, type RelaybaseClient } from "./index.js";
import {
  createRelaybaseHooks,
  RelaybaseProvider,
  useConnectionState,
  usePresence,
  useRoom,
} from "./react.js";

type AppEvents = { chat: { text: string }; other: { n: number } };
const hooks = createRelaybaseHooks<AppEvents>();

let f: NodeFixture;
const clients: RelaybaseClient<object>[] = [];
beforeAll(async () => {
  f = await startNode({ PRESENCE_GRACE_MS: 0 });
});
afterEach(() => {
  cleanup();
  for (const c of clients.splice(0)) c.close();
});
afterAll(() => f.close());

async function connect(app: AppRuntime, sub?: string, caps?: Capabilities) {
  const token = sub
    ? await f.token(app.appId, caps ?? { "doc:*": ["subscribe", "presence"] }, { sub })
    : undefined;
  const client = createClient<AppEvents>({
    key: app.publishableKeys[0]!,
    url: f.url,
    transports: ["websocket"],
    ...(token ? { getToken: async () => token } : {}),
  });
  clients.push(client as RelaybaseClient<object>);
  return client;
}

/** Every event this client's connection sends to the node, by name. */
function wireLog(client: RelaybaseClient<object>) {
  const socket = f.node.io.of("/").sockets.get(client.connectionId ?? "");
  if (!socket) throw new Error("not connected");
  const log: string[] = [];
  socket.onAny((event: string) => log.push(event));
  return log;
}

const strict = (client: RelaybaseClient<object>, child: ReturnType<typeof h>) =>
  render(h(StrictMode, null, h(RelaybaseProvider, { client }, child)));

function Status() {
  return h("p", { "data-testid": "state" }, useConnectionState());
}

function Chat({ room }: { room: string }) {
  const messages = hooks.useMessages(room, "chat");
  const { state } = hooks.useRoom(room);
  return h(
    "div",
    null,
    h("p", { "data-testid": "room" }, state),
    h(
      "ul",
      null,
      messages.map(({ data, meta }) => h("li", { key: meta.offset }, `${meta.offset}:${data.text}`)),
    ),
  );
}

let hideOne: () => void = () => {};
function Two() {
  const [both, setBoth] = useState(true);
  hideOne = () => setBoth(false);
  return h("div", null, h(Chat, { room: "public:shared" }), both ? h(Chat, { room: "public:shared" }) : null);
}

function Denied() {
  const { state, error } = useRoom("private:x");
  return h("p", null, `${state} ${(error as { code?: string } | undefined)?.code ?? ""}`);
}

function Members() {
  const { members } = usePresence<{ name: string }>("doc:1", { enter: { name: "Alice" } });
  return h(
    "ul",
    null,
    members.map((m) => h("li", { key: m.userId }, `${m.userId}:${m.data.name}`)),
  );
}

describe("@relaybase/sdk/react", () => {
  it("useConnectionState follows the connection", async () => {
    const app = await f.addApp();
    const client = await connect(app);
    strict(client as RelaybaseClient<object>, h(Status));
    expect(await screen.findByText("connected")).toBeTruthy();
    act(() => client.close());
    expect(await screen.findByText("closed")).toBeTruthy();
  });

  it("useMessages in StrictMode: one subscribe, each message once, unsubscribed on unmount", async () => {
    const app = await f.addApp();
    const client = await connect(app);
    await expect.poll(() => client.state).toBe("connected");
    const log = wireLog(client as RelaybaseClient<object>);
    const view = strict(client as RelaybaseClient<object>, h(Chat, { room: "public:lobby" }));
    expect(await screen.findByText("subscribed")).toBeTruthy();
    for (const text of ["hi", "there"]) {
      await f.node.publisher.publish({ app, room: "public:lobby", event: "chat", data: { text } });
    }
    await f.node.publisher.publish({ app, room: "public:lobby", event: "other", data: { n: 1 } });
    expect(await screen.findByText("2:there")).toBeTruthy();
    expect(screen.getAllByRole("listitem").map((li) => li.textContent)).toEqual(["1:hi", "2:there"]);
    expect(log).toEqual(["subscribe"]);
    expect(await f.node.occupancy.subscribers(app.appId, "public:lobby")).toBe(1);

    view.unmount();
    await expect.poll(() => log).toEqual(["subscribe", "unsubscribe"]);
    await expect.poll(() => f.node.occupancy.subscribers(app.appId, "public:lobby")).toBe(0);
  });

  it("two components on one room share one subscription; the room stays while one is mounted", async () => {
    const app = await f.addApp();
    const client = await connect(app);
    await expect.poll(() => client.state).toBe("connected");
    const log = wireLog(client as RelaybaseClient<object>);
    strict(client as RelaybaseClient<object>, h(Two));
    await expect.poll(() => screen.queryAllByText("subscribed").length).toBe(2);
    act(() => hideOne());
    await f.node.publisher.publish({ app, room: "public:shared", event: "chat", data: { text: "still" } });
    expect(await screen.findByText("1:still")).toBeTruthy();
    expect(log).toEqual(["subscribe"]);
  });

  it("useRoom reports a refused subscription", async () => {
    const app = await f.addApp();
    const client = await connect(app);
    strict(client as RelaybaseClient<object>, h(Denied));
    expect(await screen.findByText("unsubscribed CAPABILITY_DENIED")).toBeTruthy();
  });

  it("usePresence in StrictMode: enters once, others see one enter and no leave, leaves on unmount", async () => {
    const app = await f.addApp();
    const watcher = await connect(app, "watcher");
    const events: string[] = [];
    const seen = (e: PresenceEvent) => events.push(`${e.action} ${e.member.userId}`);
    watcher.room("doc:1").presence.on("enter", (m) => seen({ room: "doc:1", action: "enter", member: m }));
    watcher.room("doc:1").presence.on("leave", (m) => seen({ room: "doc:1", action: "leave", member: m }));
    await watcher.room("doc:1").subscribe();
    await watcher.room("doc:1").presence.enter({ name: "W" });

    const alice = await connect(app, "alice");
    await expect.poll(() => alice.state).toBe("connected");
    const log = wireLog(alice as RelaybaseClient<object>);
    const view = strict(alice as RelaybaseClient<object>, h(Members));
    await expect
      .poll(() => screen.queryAllByRole("listitem").map((li) => li.textContent))
      .toEqual(["alice:Alice", "watcher:W"]);
    // The watcher's own enter, then alice's once.
    await expect.poll(() => events).toEqual(["enter watcher", "enter alice"]);
    // One enter and one subscribe on the wire, whatever their order; no leave.
    const sent = log.filter((e) => e === "presence.enter" || e === "presence.leave" || e === "subscribe");
    expect(sent.sort()).toEqual(["presence.enter", "subscribe"]);

    view.unmount();
    await expect.poll(() => events).toEqual(["enter watcher", "enter alice", "leave alice"]);
    expect(log).toContain("unsubscribe");
  });
});
