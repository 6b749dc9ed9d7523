/**
 * What every folder of tests/* shares: waiting for a condition (vitest's `expect.poll`,
 * so a failure says what was awaited and shows the last value), a developer who signs
 * up through the console API, bare Socket.IO connections with their handshake and acks,
 * and a TCP link that fails the way networks do. The folders' own fixtures start what
 * they test (the embedded platform, a cluster of processes, a cluster on its own Redis)
 * and build on these.
 *
 * Waiting is on a condition, never on a fixed time: to check that something did NOT
 * arrive, publish a marker after it and wait for the marker (a room's messages arrive in
 * order). `sleep` is for pacing a scenario (a publisher's rate, a rate-limit window,
 * a lease running out), never for "long enough".
 */
import { connect, createServer, type Socket as NetSocket, type Server } from "node:net";
import { consoleClient, uniqueEmail } from "@relaybase/control-plane/testing";
import type { WireError } from "@relaybase/protocol";
import { createServerClient } from "@relaybase/sdk/server";
import { io, type Socket } from "socket.io-client";
import { expect, inject, TestRunner, vi } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** The suite's `expect.poll` defaults (vitest.config.ts). */
    poll: { timeout: number; interval: number };
  }
}

// ---------------------------------------------------------------------------------------
// Waiting

/** Default: the suite's `expect.poll` timeout and interval (vitest.config.ts). */
export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * `expect.poll` with a message saying what is awaited:
 * `await poll("bob's message", () => got.length).toBe(1)`. A failure shows the last
 * value it saw. Inside a test only (vitest's rule); in a hook, use `until`.
 */
export function poll<T>(what: string, value: () => T | Promise<T>, options: WaitOptions = {}) {
  return expect.poll(value, {
    message: `waiting for ${what}`,
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    ...(options.intervalMs === undefined ? {} : { interval: options.intervalMs }),
  });
}

/**
 * Resolves when `check` (sync or async) holds; fails after the timeout saying what it
 * waited for, and `detail()` (the state of things then) when given. In a test it is
 * `poll(what, check).toBe(true)`; in a hook (starting a cluster), where `expect.poll`
 * refuses to run, `vi.waitFor` with the same defaults.
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  options: WaitOptions & { detail?: () => string } = {},
): Promise<void> {
  if (!TestRunner.getCurrentTest()) {
    const defaults = inject("poll");
    await vi.waitFor(
      async () => {
        if (!(await check()))
          throw new Error(`waiting for ${what}${options.detail ? `\n${options.detail()}` : ""}`);
      },
      { timeout: options.timeoutMs ?? defaults.timeout, interval: options.intervalMs ?? defaults.interval },
    );
    return;
  }
  try {
    await poll(what, check, options).toBe(true);
  } catch (err) {
    if (!options.detail) throw err;
    if (err instanceof Error) err.message += `\n${options.detail()}`;
    throw err;
  }
}

/** For pacing a scenario only; see the module comment. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// A developer

export interface ServiceUrls {
  controlPlane: string;
  rest: string;
}

/**
 * A developer who signed up, created an app and a secret key, all through the console
 * API, with a server client on the REST API.
 */
export async function signUpDeveloper(
  urls: ServiceUrls,
  options: { name?: string; allowedOrigins?: string[]; clientPublish?: boolean } = {},
) {
  const { name = "test", ...appOptions } = options;
  const { client: trpc } = consoleClient(urls.controlPlane);
  await trpc.auth.signup.mutate({
    email: uniqueEmail(name.replace(/[^a-z0-9]+/gi, "-")),
    password: "correct horse battery",
  });
  const { app, publishableKey } = await trpc.apps.create.mutate({ name, ...appOptions });
  const { secret, key } = await trpc.keys.create.mutate({ appId: app.id, kind: "secret", name: "server" });
  return {
    trpc,
    appId: app.id,
    publishableKey: publishableKey.publishableKey!,
    publishableKeyId: publishableKey.id,
    secret: secret!,
    key,
    secretKeyId: key.id,
    server: createServerClient({
      appId: app.id,
      secretKey: secret!,
      restUrl: urls.rest,
      controlPlaneUrl: urls.controlPlane,
    }),
  };
}

export type SignedUpDeveloper = Awaited<ReturnType<typeof signUpDeveloper>>;

/** The app's live connections, as `GET /v1/apps/:id/stats` counts them. */
export async function connectionCount(
  restUrl: string,
  owner: { appId: string; secret: string },
): Promise<number> {
  const res = await fetch(`${restUrl}/v1/apps/${owner.appId}/stats`, {
    headers: { authorization: `Bearer ${owner.secret}` },
  });
  return ((await res.json()) as { connections: number }).connections;
}

// ---------------------------------------------------------------------------------------
// Bare Socket.IO connections

/**
 * A bare Socket.IO client (no SDK, no reconnection): what the server answers, as is.
 * `token`: a connection token, for a client with a user's capabilities.
 */
export function rawSocket(url: string, key: string, token?: string): Socket {
  return io(url, {
    auth: { key, ...(token ? { token } : {}) },
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
  });
}

/** "connected", or the connect error's code. */
export function handshake(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.once("connect", () => resolve("connected"));
    socket.once("connect_error", (err: Error & { data?: WireError }) =>
      resolve(err.data?.code ?? err.message),
    );
  });
}

/** Emits `event` and resolves with the ack (rejects when none comes in `timeoutMs`). */
export function ack<T = { ok: boolean; error?: WireError; offset?: number }>(
  socket: Socket,
  event: string,
  payload: unknown,
  timeoutMs = 10_000,
): Promise<T> {
  return socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<T>;
}

// ---------------------------------------------------------------------------------------
// A failing network

/**
 * A TCP link standing in for the network between a client and a server:
 * - `down()`: every open connection is dropped on both sides (the server sees a close)
 *   and new ones are refused until `up()`;
 * - `cutClientSide()`: only the client's side is dropped; the server's side stays open and
 *   silent, so the server does not see the disconnection until its ping timeout;
 * - `retarget(url)`: later connections go elsewhere (another node, the balancer).
 */
export async function startLink(initialTarget: string) {
  let target = initialTarget;
  let isDown = false;
  const pairs = new Set<{ inbound: NetSocket; outbound: NetSocket }>();
  const zombies = new Set<NetSocket>();
  const server: Server = createServer((inbound) => {
    inbound.on("error", () => {});
    if (isDown) {
      inbound.destroy();
      return;
    }
    const { hostname, port } = new URL(target);
    const outbound = connect(Number(port), hostname);
    outbound.on("error", () => {});
    const pair = { inbound, outbound };
    pairs.add(pair);
    const closeBoth = () => {
      if (!pairs.delete(pair)) return;
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on("close", closeBoth);
    outbound.on("close", closeBoth);
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    down() {
      isDown = true;
      for (const { inbound, outbound } of [...pairs]) {
        inbound.destroy();
        outbound.destroy();
      }
    },
    up() {
      isDown = false;
    },
    cutClientSide() {
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        pair.inbound.unpipe(pair.outbound);
        pair.outbound.unpipe(pair.inbound);
        pair.outbound.pause();
        zombies.add(pair.outbound);
        pair.inbound.destroy();
      }
    },
    retarget(url: string) {
      target = url;
    },
    async close() {
      for (const { inbound, outbound } of [...pairs]) {
        inbound.destroy();
        outbound.destroy();
      }
      for (const z of zombies) z.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

export type Link = Awaited<ReturnType<typeof startLink>>;
