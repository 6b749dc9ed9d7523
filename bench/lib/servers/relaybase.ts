/**
 * Relaybase as `npm start` runs it: the embedded platform (`startPlatform`, every service in
 * one process, in-memory adapter), here on port 0, with the control plane on a fresh
 * database of the local Postgres instead of PGlite so that the app's limits can be raised
 * the way an operator does it (SQL override, tests/limits/fixtures.ts). Hot paths do not
 * touch the database. A developer signs up through the console API, creates an app and a
 * secret key, and mints connection tokens, as a customer's server would.
 *
 * Environment: everything `startPlatform` reads (LOG_LEVEL as a user would leave it unless
 * set), plus RB_BENCH_TOKENS (tokens to mint, default 50).
 */

import { startPlatform } from "@relaybase/all-in-one";
import { createTestDatabase } from "@relaybase/control-plane/testing";
import { signUpDeveloper } from "../../../tests/fixtures.js";
import { setLimits } from "../../../tests/limits/fixtures.js";
import { serveProbe } from "./probe.js";

const db = await createTestDatabase("postgres");
const platform = await startPlatform({
  ...process.env,
  ...db.env,
  CONTROL_PLANE_PORT: "0",
  REALTIME_PORT: "0",
  REST_PORT: "0",
  // The console bundle is not served in the benchmark (and not built for it).
  CONSOLE_DIR: process.env.CONSOLE_DIR ?? db.env.DATA_DIR,
});
const dev = await signUpDeveloper(platform.urls, { name: "bench" });
// Limits out of the way: the benchmark measures the paths, not the plan's refusals.
await setLimits(db, dev, {
  maxConnections: 1_000_000,
  messagesPerDay: 1_000_000_000,
  restPublishesPerSecond: 1_000_000,
  connectionsPerSecondPerIp: 1_000_000,
  clientPublishesPerSecond: 1_000_000,
});
const tokens: string[] = [];
for (let i = 0; i < Number(process.env.RB_BENCH_TOKENS ?? 50); i++) {
  const res = await fetch(`${platform.urls.controlPlane}/v1/tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${dev.secret}`, "content-type": "application/json" },
    body: JSON.stringify({ userId: `user-${i}`, capabilities: { "*": ["subscribe"] }, ttl: 86_400 }),
  });
  if (!res.ok) throw new Error(`token: ${res.status} ${await res.text()}`);
  tokens.push(((await res.json()) as { token: string }).token);
}

serveProbe(
  {
    url: platform.urls.realtime,
    publishUrl: `${platform.urls.rest}/v1/apps/${dev.appId}/publish`,
    headers: { authorization: `Bearer ${dev.secret}` },
    key: dev.publishableKey,
    tokens,
  },
  async () => {
    await platform.close();
    await db.drop();
  },
);
