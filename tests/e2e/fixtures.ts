/**
 * End-to-end fixtures: the real all-in-one platform (the same `startPlatform` that
 * `npm start` runs) on port 0 with a fresh PGlite folder, its developers (who sign up
 * through the console API) and SDK clients. Waiting, raw sockets and the failing
 * network link are in tests/fixtures.ts.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPlatform } from "@relaybase/all-in-one";
import { type ClientOptions, createClient, type RelaybaseClient } from "@relaybase/sdk";
import { signUpDeveloper } from "../fixtures.js";

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
      return signUpDeveloper(urls, { name: "e2e", ...appOptions });
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
