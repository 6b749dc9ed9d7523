import { type ErrorCode, RelaybaseError, type WireError, wireError } from "@relaybase/protocol";
import { ZodError } from "zod";

/**
 * The one mapping of what can be thrown to a Relaybase error, for every edge (HTTP
 * routes, socket acks and connect errors, tRPC): a `RelaybaseError` as it is, a zod
 * validation failure as BAD_REQUEST naming the fields, and an HTTP framework's own
 * errors (bad JSON, body too large) by their status. Anything else is unknown:
 * undefined, and the edge logs it and answers INTERNAL, never showing it.
 */
export function asRelaybaseError(err: unknown): RelaybaseError | undefined {
  if (err instanceof RelaybaseError) return err;
  if (err instanceof ZodError) {
    return new RelaybaseError(
      "BAD_REQUEST",
      err.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "),
    );
  }
  const code = frameworkCode(err);
  return code === undefined ? undefined : new RelaybaseError(code);
}

/** Fastify's own errors (bad JSON, body too large, wrong content type) carry a statusCode. */
function frameworkCode(err: unknown): ErrorCode | undefined {
  const e = err as { statusCode?: number; code?: string } | null;
  if (e?.code === "FST_ERR_CTP_BODY_TOO_LARGE" || e?.statusCode === 413) return "MESSAGE_TOO_LARGE";
  if (e?.statusCode === 429) return "RATE_LIMITED";
  if (typeof e?.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    return e.statusCode === 404 ? "NOT_FOUND" : "BAD_REQUEST";
  }
  return undefined;
}

/**
 * Maps anything thrown in an HTTP handler to a status and a body of the shared shape
 * `{ error: { code, message, retry } }`. Unknown errors become INTERNAL and are
 * reported through `onUnknown` (to be logged), never shown to the caller.
 */
export function toHttpError(
  err: unknown,
  onUnknown: (err: unknown) => void,
): { status: number; body: { error: WireError }; headers: Record<string, string> } {
  const known = asRelaybaseError(err);
  if (!known) {
    onUnknown(err);
    return { status: 500, body: { error: wireError("INTERNAL") }, headers: {} };
  }
  // Rate limits and quotas say when to come back, as the `Retry-After` header (seconds).
  const headers: Record<string, string> =
    known.retryAfter === undefined ? {} : { "retry-after": String(known.retryAfter) };
  return { status: known.status, body: { error: known.toWire() }, headers };
}
