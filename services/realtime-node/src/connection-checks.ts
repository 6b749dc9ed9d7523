import { type HandshakeAuth, RelaybaseError } from "@relaybase/protocol";
import type { AppRuntime, TenantDirectory } from "@relaybase/server-kit";
import { refuseSecretKeyInClient, verifyToken } from "@relaybase/server-kit";
import type { JWTVerifyGetKey } from "jose";
import {
  type Admission,
  admitWithinQuota,
  type ConnectionLimitDeps,
  checkConnectRate,
  clientAddress,
} from "./limits.js";
import type { RealtimeSocket, SocketData } from "./types.js";

/**
 * The connection checks, one small function each, run in DESIGN §4 order:
 * shutdown → app by key → origin → token → connection quota → connect rate → accept.
 * The two limits live in limits.ts.
 */
export interface CheckDeps {
  directory: TenantDirectory;
  keys: JWTVerifyGetKey;
  issuer: string;
  isDraining: () => boolean;
  limits: ConnectionLimitDeps;
}

export async function checkConnection(socket: RealtimeSocket, deps: CheckDeps): Promise<SocketData> {
  refuseWhileDraining(deps.isDraining);
  const auth = (socket.handshake.auth ?? {}) as Partial<HandshakeAuth>;
  const app = await appByKey(auth.key, deps.directory);
  checkOrigin(app, socket.handshake.headers.origin);
  const data = await authenticate(app, auth.token, deps);
  // Counted as open from here on; see `countUntilGone` for who gives the place back.
  const admission = await admitWithinQuota(app, deps.limits);
  try {
    await checkConnectRate(app, clientAddress(socket.handshake, deps.limits.trustProxy), deps.limits);
  } catch (err) {
    admission.release();
    throw err;
  }
  countUntilGone(socket, admission);
  return data;
}

/** Each counted socket's admission, under the socket and under its transport. */
const admissions = new WeakMap<object, Admission>();

/** The one listener of every counted socket and transport (`this` is the emitter). */
function releaseAdmission(this: object): void {
  admissions.get(this)?.release();
}

/**
 * An admitted socket is counted from the quota check until it is gone: its `disconnect`
 * gives the place back, or, if the client leaves before Socket.IO emits `connection` (it
 * then drops the socket silently, with no `disconnect`), the transport's `close`. The
 * admission is released once, however many of these fire.
 */
function countUntilGone(socket: RealtimeSocket, admission: Admission): void {
  if (socket.conn.readyState !== "open") {
    admission.release();
    return;
  }
  admissions.set(socket, admission);
  admissions.set(socket.conn, admission);
  // Each fires at most once per emitter; `release` is idempotent.
  socket.conn.on("close", releaseAdmission);
  socket.on("disconnect", releaseAdmission);
}

export function refuseWhileDraining(isDraining: () => boolean): void {
  if (isDraining()) throw new RelaybaseError("SERVER_SHUTTING_DOWN");
}

export async function appByKey(key: unknown, directory: TenantDirectory): Promise<AppRuntime> {
  refuseSecretKeyInClient(key);
  const app = typeof key === "string" ? await directory.byPublishableKey(key) : undefined;
  if (!app) throw new RelaybaseError("INVALID_KEY");
  return app;
}

/**
 * An allow-list protects browsers from other sites using the app's key. Handshakes
 * without an Origin header come from servers and native apps, which could send any
 * origin they like, so the list does not apply to them (as with Pusher and Ably).
 */
export function checkOrigin(app: AppRuntime, origin: string | undefined): void {
  if (app.allowedOrigins.length === 0 || origin === undefined) return;
  const normalized = origin.toLowerCase();
  if (!app.allowedOrigins.some((allowed) => originMatches(allowed, normalized))) {
    throw new RelaybaseError("ORIGIN_NOT_ALLOWED", `Origin ${origin} is not allowed for this app.`);
  }
}

/**
 * `https://app.example.com` matches itself; `https://*.example.com` matches any
 * subdomain (at any depth) on the same scheme and port, not the bare domain.
 */
export function originMatches(allowed: string, origin: string): boolean {
  const star = allowed.indexOf("://*.");
  if (star === -1) return allowed === origin;
  const prefix = allowed.slice(0, star + 3);
  const suffix = allowed.slice(star + 4);
  if (!origin.startsWith(prefix) || !origin.endsWith(suffix)) return false;
  const subdomain = origin.slice(prefix.length, origin.length - suffix.length);
  return /^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(subdomain);
}

export async function authenticate(
  app: AppRuntime,
  token: unknown,
  deps: Pick<CheckDeps, "keys" | "issuer">,
): Promise<SocketData> {
  if (token === undefined || token === null || token === "") {
    return { appId: app.appId, caps: app.anonymousCaps };
  }
  if (typeof token !== "string") throw new RelaybaseError("TOKEN_INVALID");
  const claims = await verifyToken(token, deps.keys, deps.issuer);
  if (claims.app !== app.appId) throw new RelaybaseError("TOKEN_APP_MISMATCH");
  return {
    appId: app.appId,
    caps: claims.caps,
    exp: claims.exp,
    ...(claims.sub === undefined ? {} : { userId: claims.sub }),
    ...(claims.debug ? { debug: true as const } : {}),
  };
}
