import { ERROR_CODES, type ErrorCode, RelaybaseError, type WireError, wireError } from "@relaybase/protocol";
import { ZodError } from "zod";

/**
 * Maps anything thrown in an HTTP handler to a status and a body of the shared shape
 * `{ error: { code, message, retry } }`. Unknown errors become INTERNAL and are
 * reported through `onUnknown` (to be logged), never shown to the caller.
 */
export function toHttpError(
  err: unknown,
  onUnknown: (err: unknown) => void,
): { status: number; body: { error: WireError }; headers: Record<string, string> } {
  const code = codeOf(err);
  if (code === undefined) {
    onUnknown(err);
    return { status: 500, body: { error: wireError("INTERNAL") }, headers: {} };
  }
  if (err instanceof RelaybaseError) {
    // Rate limits and quotas say when to come back, as the `Retry-After` header (seconds).
    const headers: Record<string, string> =
      err.retryAfter === undefined ? {} : { "retry-after": String(err.retryAfter) };
    return { status: err.status, body: { error: err.toWire() }, headers };
  }
  const message =
    err instanceof ZodError
      ? err.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")
      : ERROR_CODES[code].message;
  return { status: ERROR_CODES[code].status, body: { error: wireError(code, message) }, headers: {} };
}

/** Fastify's own errors (bad JSON, body too large, wrong content type) carry a statusCode. */
function codeOf(err: unknown): ErrorCode | undefined {
  if (err instanceof RelaybaseError) return err.code;
  if (err instanceof ZodError) return "BAD_REQUEST";
  const e = err as { statusCode?: number; code?: string; validation?: unknown } | null;
  if (e?.code === "FST_ERR_CTP_BODY_TOO_LARGE" || e?.statusCode === 413) return "MESSAGE_TOO_LARGE";
  if (e?.statusCode === 429) return "RATE_LIMITED";
  if (typeof e?.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    return e.statusCode === 404 ? "NOT_FOUND" : "BAD_REQUEST";
  }
  return undefined;
}
