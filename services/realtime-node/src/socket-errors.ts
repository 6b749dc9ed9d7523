import { type WireError, wireError } from "@relaybase/protocol";
import { asRelaybaseError, type Logger } from "@relaybase/server-kit";

/** Maps anything thrown while handling a socket to a wire error; unknown → INTERNAL, logged. */
export function toWireError(err: unknown, logger: Logger): WireError {
  const known = asRelaybaseError(err);
  if (known) return known.toWire();
  logger.error({ err }, "unexpected error on a socket");
  return wireError("INTERNAL");
}

/** A Socket.IO middleware error carrying the wire error in `data`, as clients read it. */
export function connectError(error: WireError): Error & { data: WireError } {
  return Object.assign(new Error(error.message), { data: error });
}
