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

export interface RequestDeps {
  logger: Logger;
  /** Told the code of every refused request, what it was and the room it named (metrics, debug tail). */
  onRefused?: (code: WireError["code"], request: ClientRequest, room: unknown) => void;
}

/**
 * Wraps one request handler: validates the payload, always answers the ack (if the client
 * asked for one) with `{ ok }` or `{ ok: false, error }`, and never lets an exception
 * escape to Socket.IO.
 */
export function handleRequest<T, R>(
  socket: RealtimeSocket,
  deps: RequestDeps,
  event: ClientRequest,
  schema: ZodType<T>,
  run: (payload: T) => Promise<R>,
): void {
  socket.on(event, async (payload: unknown, ack: unknown) => {
    const reply = typeof ack === "function" ? (ack as (res: unknown) => void) : () => {};
    try {
      const parsed = schema.safeParse(payload);
      if (!parsed.success) throw new RelaybaseError("BAD_REQUEST", `Malformed ${event} payload.`);
      reply(await run(parsed.data));
    } catch (err) {
      const error = toWireError(err, deps.logger);
      deps.onRefused?.(error.code, event, (payload as { room?: unknown } | null | undefined)?.room);
      reply({ ok: false, error });
    }
  });
}

/** Reads the app on every request so a settings change applies to live sockets too. */
export async function currentApp(socket: RealtimeSocket, directory: TenantDirectory): Promise<AppRuntime> {
  const app = await directory.byId(socket.data.appId);
  if (!app) throw new RelaybaseError("INVALID_KEY", "This app no longer exists.");
  return app;
}
