import { hostname } from "node:os";
import { instrument } from "@socket.io/admin-ui";
import type { Server } from "socket.io";
import type { RealtimeNodeConfig } from "./config.js";
import type { RealtimeServer } from "./types.js";

/** The namespace the Admin UI connects to. Tenants never use namespaces (DESIGN §2); this one is for operators. */
export const ADMIN_NAMESPACE = "/admin";

export type AdminUiConfig = Pick<
  RealtimeNodeConfig,
  | "ADMIN_UI_ENABLED"
  | "ADMIN_UI_USERNAME"
  | "ADMIN_UI_PASSWORD_HASH"
  | "ADMIN_UI_READONLY"
  | "ADMIN_UI_SERVER_ID"
>;

/**
 * The Socket.IO Admin UI (https://admin.socket.io) on this node, when ADMIN_UI_ENABLED:
 * basic auth against a bcrypt hash (the config refuses to start without one),
 * `production` mode (aggregated counts only: no per-socket events, no socket lists kept),
 * read-only unless ADMIN_UI_READONLY=false (then an operator may emit, join, leave and
 * disconnect), and a `serverId` per node so the UI tells the nodes of a cluster apart.
 *
 * It lives in its own namespace, `/admin`: the connection checks (`io.use`) and every
 * tenant room are on `/`, so tenant sockets never enter it, and the admin namespace
 * carries no tenant message. With the streams adapter it reads the same stream as `/`
 * (streamCount 1) and adds one `server_stats` entry every 2 s per node to it.
 */
export function mountAdminUi(io: RealtimeServer, config: Partial<AdminUiConfig>): string | undefined {
  if (!config.ADMIN_UI_ENABLED) return undefined;
  if (!config.ADMIN_UI_PASSWORD_HASH) throw new Error("ADMIN_UI_ENABLED needs ADMIN_UI_PASSWORD_HASH");
  const serverId = config.ADMIN_UI_SERVER_ID ?? `${hostname()}#${process.pid}`;
  instrument(io as unknown as Server, {
    namespaceName: ADMIN_NAMESPACE,
    auth: {
      type: "basic",
      username: config.ADMIN_UI_USERNAME ?? "admin",
      password: config.ADMIN_UI_PASSWORD_HASH,
    },
    mode: "production",
    readonly: config.ADMIN_UI_READONLY ?? true,
    serverId,
  });
  return serverId;
}
