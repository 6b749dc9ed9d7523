/**
 * What the limits do when Redis is gone: handshakes fail open (admitted, logged),
 * publishes fail closed (UNAVAILABLE). A real realtime node and REST API wired as in a
 * cluster (connection leases and the Redis limiters on a Redis of the test's own), with
 * history kept in memory so that any refusal below comes from the limits alone.
 */

import { createRealtimeNode, type RealtimeNode } from "@relaybase/realtime-node";
import { ConnectionLeases, createRedisClient, type RedisClient, redisLimiters } from "@relaybase/redis-kit";
import { createRestPublishApi } from "@relaybase/rest-publish-api";
import {
  type AppRuntime,
  createLogger,
  MemoryTenantDirectory,
  newAppId,
  newPublishableKey,
  newSecretKey,
  PLANS,
} from "@relaybase/server-kit";
import type { FastifyInstance } from "fastify";
import { createLocalJWKSet } from "jose";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServiceProcess, startRedis } from "../../scripts/cluster/processes.js";
import { ack, handshake, rawSocket, until } from "../fixtures.js";
import { restPublish } from "./fixtures.js";

let redis: ServiceProcess;
let client: RedisClient;
let node: RealtimeNode;
let rest: FastifyInstance;
let nodeUrl: string;
let restUrl: string;
const secret = newSecretKey();
const app: AppRuntime = {
  appId: newAppId(),
  orgId: "org_test",
  name: "fail-policy",
  plan: "free",
  allowedOrigins: [],
  anonymousCaps: { "*": ["subscribe", "publish"] },
  clientPublish: true,
  limits: { ...PLANS.free, maxConnections: 1 },
  publishableKeys: [newPublishableKey()],
  secretKeys: [{ keyId: secret.keyId, hash: secret.hash }],
};
const sockets: Socket[] = [];

beforeAll(async () => {
  redis = await startRedis();
  await until(async () => {
    try {
      client = createRedisClient(redis.url);
      await client.connect();
      return true;
    } catch {
      return false;
    }
  }, "redis-server to accept connections");
  const directory = new MemoryTenantDirectory();
  await directory.put(app);
  const logger = createLogger("test", "silent");
  const limiters = redisLimiters(client, { commandTimeoutMs: 500 });
  node = createRealtimeNode({
    config: {
      TOKEN_ISSUER: "http://issuer.test",
      RECOVERY_MAX_DISCONNECTION_MS: 10_000,
      MAX_PACKET_BYTES: 1_000_000,
      SHUTDOWN_DEADLINE_MS: 200,
    },
    directory,
    keys: createLocalJWKSet({ keys: [] }),
    logger,
    connections: new ConnectionLeases(client, { leaseMs: 5_000, commandTimeoutMs: 500 }),
    limiters,
  });
  nodeUrl = `http://127.0.0.1:${(await node.listen(0, "127.0.0.1")).port}`;
  rest = createRestPublishApi({
    config: { BODY_LIMIT_BYTES: 1_000_000 },
    directory,
    publisher: node.publisher,
    connections: node.connections,
    limiters,
    logger,
  });
  restUrl = await rest.listen({ port: 0, host: "127.0.0.1" });
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await node?.close();
  await rest?.close();
  await client?.disconnect().catch(() => {});
  await redis?.stop("SIGKILL");
});

function connect(): Promise<{ socket: Socket; result: string }> {
  const socket = rawSocket(nodeUrl, app.publishableKeys[0]!);
  sockets.push(socket);
  return handshake(socket).then((result) => ({ socket, result }));
}

describe("when Redis is down", () => {
  it("admits connections it cannot count (fail open) and refuses publishes it cannot count (fail closed)", async () => {
    const owner = { appId: app.appId, secret: secret.secret };
    // Redis up: the quota holds (maxConnections 1) and publishing works.
    const first = await connect();
    expect(first.result).toBe("connected");
    expect((await connect()).result).toBe("OVER_CONNECTION_QUOTA");
    expect(await ack(first.socket, "publish", { room: "r", event: "e", data: 1, id: "up" })).toMatchObject({
      ok: true,
    });
    expect((await restPublish(restUrl, owner, { room: "r", event: "e", data: 2 })).status).toBe(202);

    await redis.stop("SIGKILL");
    await until(async () => !client.isReady, "the client to notice Redis is gone");

    // A limiter outage locks nobody out...
    const during = await connect();
    expect(during.result).toBe("connected");
    // ...but nothing is published that could not be counted.
    expect(await ack(during.socket, "publish", { room: "r", event: "e", data: 3, id: "down" })).toMatchObject(
      {
        ok: false,
        error: { code: "UNAVAILABLE", retry: "backoff" },
      },
    );
    const restDown = await restPublish(restUrl, owner, { room: "r", event: "e", data: 4 });
    expect(restDown).toMatchObject({ status: 503, error: { code: "UNAVAILABLE", retry: "backoff" } });
    // Nothing was stored for them: the room still ends at offset 2.
    expect(await ack(during.socket, "subscribe", { room: "r" })).toMatchObject({ ok: true, offset: 2 });
  });
});
