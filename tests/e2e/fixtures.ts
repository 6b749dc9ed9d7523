/**
 * End-to-end fixtures: the real all-in-one platform (the same `startPlatform` that
 * `npm start` runs) on port 0 with a fresh PGlite folder, a developer who signs up
 * through the console API, and a TCP proxy that can cut clients' connections the way a
 * flaky network does.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPlatform } from "@relaybase/all-in-one";
import { consoleClient, uniqueEmail } from "@relaybase/control-plane/testing";
import { type ClientOptions, createClient, type RelaybaseClient } from "@relaybase/sdk";
import { createServerClient } from "@relaybase/sdk/server";

export type TestPlatform = Awaited<ReturnType<typeof startTestPlatform>>;

export async function startTestPlatform(env: Record<string, string> = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), "rb-e2e-"));
  const platform = await startPlatform({
    DATA_DIR: dataDir,
    CONTROL_PLANE_PORT: "0",
    REALTIME_PORT: "0",
    REST_PORT: "0",
    LOG_LEVEL: "silent",
    ...env,
  });
  const clients: RelaybaseClient<object>[] = [];
  const { urls } = platform;

  return {
    urls,
    /** A developer who signed up and created an app with a secret key, all through the APIs. */
    async developer(appOptions: { allowedOrigins?: string[]; clientPublish?: boolean } = {}) {
      const { client: trpc } = consoleClient(urls.controlPlane);
      await trpc.auth.signup.mutate({ email: uniqueEmail("dev"), password: "correct horse battery" });
      const { app, publishableKey } = await trpc.apps.create.mutate({ name: "e2e", ...appOptions });
      const { secret, key } = await trpc.keys.create.mutate({
        appId: app.id,
        kind: "secret",
        name: "server",
      });
      const server = createServerClient({
        appId: app.id,
        secretKey: secret!,
        restUrl: urls.rest,
        controlPlaneUrl: urls.controlPlane,
      });
      return {
        trpc,
        appId: app.id,
        publishableKey: publishableKey.publishableKey!,
        secret: secret!,
        key,
        server,
      };
    },
    /** An SDK client; closed with the platform. */
    client<E extends object = Record<string, unknown>>(options: Partial<ClientOptions> & { key: string }) {
      const client = createClient<E>({ url: urls.realtime, transports: ["websocket"], ...options });
      clients.push(client as RelaybaseClient<object>);
      return client;
    },
    async close() {
      for (const c of clients) c.close();
      await platform.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A TCP proxy in front of a server, standing in for the network between client and
 * node. `down()` drops every open connection and refuses new ones (clients see a
 * transport close and retry); `up()` lets them through again.
 */
export async function startProxy(target: string) {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  let isDown = false;
  const server: Server = createServer((inbound) => {
    if (isDown) {
      inbound.destroy();
      return;
    }
    const outbound = connect(Number(port), hostname);
    for (const s of [inbound, outbound]) {
      open.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        open.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    down() {
      isDown = true;
      for (const s of open) s.destroy();
    },
    up() {
      isDown = false;
    },
    async close() {
      for (const s of open) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Resolves when `check` holds; rejects after `timeoutMs` saying what it waited for. */
export async function until(check: () => boolean, what = "condition", timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Like `until`, for a check that has to ask a server. */
export async function eventually(
  check: () => Promise<boolean>,
  what = "condition",
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
