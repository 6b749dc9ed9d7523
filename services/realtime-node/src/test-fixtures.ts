import { randomUUID } from "node:crypto";
import type { Capabilities } from "@relaybase/protocol";
import {
  type AppRuntime,
  createLogger,
  MemoryTenantDirectory,
  newAppId,
  newPublishableKey,
  PLANS,
  TOKEN_AUDIENCE,
} from "@relaybase/server-kit";
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from "jose";
import { io as connect, type Socket } from "socket.io-client";
import { createRealtimeNode, type RealtimeNode, type RealtimeNodeDeps } from "./app.js";

/**
 * A real realtime node on port 0 with a real token issuer: the tests sign tokens with
 * an Ed25519 key pair exactly as the control plane does, and the node verifies them
 * against the public JWKS.
 */
export const ISSUER = "http://issuer.test";

export interface NodeFixture {
  node: RealtimeNode;
  url: string;
  directory: MemoryTenantDirectory;
  addApp(overrides?: Partial<AppRuntime>): Promise<AppRuntime>;
  token(
    app: string,
    caps: Capabilities,
    opts?: { sub?: string; ttl?: number; iat?: number },
  ): Promise<string>;
  privateKey: CryptoKey;
  client(auth: Record<string, unknown>, opts?: Record<string, unknown>): Socket;
  close(): Promise<void>;
}

export async function startNode(
  config: Partial<RealtimeNodeDeps["config"]> = {},
  deps: Partial<Omit<RealtimeNodeDeps, "config" | "directory" | "keys">> = {},
): Promise<NodeFixture> {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: "test-1", alg: "EdDSA" };
  const directory = new MemoryTenantDirectory();
  const node = createRealtimeNode({
    config: {
      TOKEN_ISSUER: ISSUER,
      RECOVERY_MAX_DISCONNECTION_MS: 60_000,
      MAX_PACKET_BYTES: 1_000_000,
      SHUTDOWN_DEADLINE_MS: 500,
      ...config,
    },
    directory,
    keys: createLocalJWKSet({ keys: [jwk] }),
    logger: createLogger("test", "silent"),
    ...deps,
  });
  const { port } = await node.listen(0, "127.0.0.1");
  const url = `http://127.0.0.1:${port}`;
  const sockets: Socket[] = [];

  return {
    node,
    url,
    directory,
    privateKey,
    async addApp(overrides = {}) {
      const app: AppRuntime = {
        appId: newAppId(),
        orgId: "org_test",
        name: "test",
        allowedOrigins: [],
        anonymousCaps: { "public:*": ["subscribe"] },
        clientPublish: true,
        plan: "free",
        limits: { ...PLANS.free },
        publishableKeys: [newPublishableKey()],
        secretKeys: [],
        ...overrides,
      };
      await directory.put(app);
      return app;
    },
    async token(app, caps, opts = {}) {
      const iat = opts.iat ?? Math.floor(Date.now() / 1000);
      const jwt = new SignJWT({ app, caps })
        .setProtectedHeader({ alg: "EdDSA", kid: "test-1" })
        .setIssuer(ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setIssuedAt(iat)
        .setExpirationTime(iat + (opts.ttl ?? 3600))
        .setJti(randomUUID());
      if (opts.sub) jwt.setSubject(opts.sub);
      return jwt.sign(privateKey);
    },
    client(auth, opts = {}) {
      const socket = connect(url, { auth, transports: ["websocket"], reconnection: false, ...opts });
      sockets.push(socket);
      return socket;
    },
    async close() {
      for (const s of sockets) s.disconnect();
      await node.close();
    },
  };
}

/** Resolves with the socket once connected, or rejects with the connect error's data. */
export function connected(socket: Socket): Promise<Socket> {
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err: Error & { data?: unknown }) => reject(err.data ?? err));
  });
}

export function emitAck<T = any>(socket: Socket, event: string, payload: unknown): Promise<T> {
  return socket.timeout(5000).emitWithAck(event, payload) as Promise<T>;
}
