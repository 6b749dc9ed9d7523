import { RelaybaseError, type WireError } from "@relaybase/protocol";
import type { AppRuntime, Logger, TenantDirectory } from "@relaybase/server-kit";
import type { ZodType } from "zod";
import { toWireError } from "./socket-errors.js";
import type { RealtimeSocket } from "./types.js";

/** Client → server requests that carry an ack (DESIGN §4, docs/protocol.md). */
export type ClientRequest =
  | "subscribe"
  | "unsubscribe"
  | "publish"
  | "auth"
  | "history"
  | "presence.enter"
  | "presence.update"
  | "presence.leave"
  | "presence.get";

/** One request: its payload schema and what it does for a socket. */
export interface Route {
  schema: ZodType<unknown>;
  run: (socket: RealtimeSocket, payload: unknown) => Promise<unknown>;
}

/** A route whose `run` is typed by its schema (it is only ever given what the schema parsed). */
export function route<T>(
  schema: ZodType<T>,
  run: (socket: RealtimeSocket, payload: T) => Promise<unknown>,
): Route {
  return { schema, run: run as Route["run"] };
}

export type Routes = Partial<Record<ClientRequest, Route>>;

export interface RequestDeps {
  logger: Logger;
  /** Told the code of every refused request, what it was and the room it named (metrics, debug tail). */
  onRefused?: (
    socket: RealtimeSocket,
    code: WireError["code"],
    request: ClientRequest,
    room: unknown,
  ) => void;
}

/**
 * The listener every socket of a node shares (`socket.onAny`, which Socket.IO calls with
 * `this` = the socket): finds the request's route, validates the payload, always answers
 * the ack (if the client asked for one) with `{ ok }` or `{ ok: false, error }`, and never
 * lets an exception escape to Socket.IO. One function for all sockets instead of a
 * closure per event per socket: idle connections are most of a node's memory.
 * Events that are not requests are ignored, as Socket.IO ignores events nobody listens to.
 */
export function requestListener(routes: Routes, deps: RequestDeps) {
  const table = new Map(Object.entries(routes) as [ClientRequest, Route][]);
  return function onRequest(this: RealtimeSocket, event: unknown, payload?: unknown, ack?: unknown): void {
    const found = typeof event === "string" ? table.get(event as ClientRequest) : undefined;
    if (!found) return;
    const reply = typeof ack === "function" ? (ack as (res: unknown) => void) : () => {};
    // `.then(reply).catch`: an answer Socket.IO cannot encode is answered again as an error.
    handle(this, event as ClientRequest, found, payload)
      .then(reply)
      .catch((err: unknown) => {
        const error = toWireError(err, socketLogger(deps.logger, this));
        const room = (payload as { room?: unknown } | null | undefined)?.room;
        deps.onRefused?.(this, error.code, event as ClientRequest, room);
        reply({ ok: false, error });
      });
  };
}

async function handle(
  socket: RealtimeSocket,
  event: ClientRequest,
  found: Route,
  payload: unknown,
): Promise<unknown> {
  const parsed = found.schema.safeParse(payload);
  if (!parsed.success) throw new RelaybaseError("BAD_REQUEST", `Malformed ${event} payload.`);
  return found.run(socket, parsed.data);
}

/** The node's logger with the socket's app and id, made only when something is logged. */
export function socketLogger(logger: Logger, socket: RealtimeSocket): Logger {
  return logger.child({ appId: socket.data.appId, socketId: socket.id });
}

/** Reads the app on every request so a settings change applies to live sockets too. */
export async function currentApp(socket: RealtimeSocket, directory: TenantDirectory): Promise<AppRuntime> {
  const app = await directory.byId(socket.data.appId);
  if (!app) throw new RelaybaseError("INVALID_KEY", "This app no longer exists.");
  return app;
}
