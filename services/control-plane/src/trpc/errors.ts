import { type ErrorCode, isErrorCode, RelaybaseError } from "@relaybase/protocol";
import { type TRPC_ERROR_CODE_KEY, TRPCError } from "@trpc/server";

/** Every Relaybase code has a tRPC code; a new code in the table fails the typecheck here. */
export const TRPC_CODE_OF: Record<ErrorCode, TRPC_ERROR_CODE_KEY> = {
  BAD_REQUEST: "BAD_REQUEST",
  INVALID_ROOM_NAME: "BAD_REQUEST",
  INVALID_EVENT_NAME: "BAD_REQUEST",
  MESSAGE_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  TOO_MANY_ROOMS: "BAD_REQUEST",
  INVALID_KEY: "UNAUTHORIZED",
  WRONG_KEY_TYPE: "UNAUTHORIZED",
  TOKEN_INVALID: "UNAUTHORIZED",
  TOKEN_EXPIRED: "UNAUTHORIZED",
  TOKEN_APP_MISMATCH: "FORBIDDEN",
  KEY_APP_MISMATCH: "FORBIDDEN",
  ORIGIN_NOT_ALLOWED: "FORBIDDEN",
  CAPABILITY_DENIED: "FORBIDDEN",
  CLIENT_PUBLISH_DISABLED: "FORBIDDEN",
  UNAUTHENTICATED: "UNAUTHORIZED",
  INVALID_CREDENTIALS: "UNAUTHORIZED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  APP_NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  BILLING_DISABLED: "NOT_IMPLEMENTED",
  RATE_LIMITED: "TOO_MANY_REQUESTS",
  OVER_CONNECTION_QUOTA: "FORBIDDEN",
  CONNECT_RATE_LIMITED: "TOO_MANY_REQUESTS",
  TOO_MANY_SUBSCRIPTIONS: "BAD_REQUEST",
  DAILY_QUOTA_EXCEEDED: "TOO_MANY_REQUESTS",
  SERVER_SHUTTING_DOWN: "SERVICE_UNAVAILABLE",
  UNAVAILABLE: "SERVICE_UNAVAILABLE",
  TIMEOUT: "GATEWAY_TIMEOUT",
  INTERNAL: "INTERNAL_SERVER_ERROR",
};

/** For errors tRPC raises itself (bad input, unknown procedure, wrong method). */
const RELAYBASE_CODE_OF: Partial<Record<TRPC_ERROR_CODE_KEY, ErrorCode>> = {
  PARSE_ERROR: "BAD_REQUEST",
  BAD_REQUEST: "BAD_REQUEST",
  UNAUTHORIZED: "UNAUTHENTICATED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  METHOD_NOT_SUPPORTED: "BAD_REQUEST",
  CONFLICT: "CONFLICT",
  PAYLOAD_TOO_LARGE: "MESSAGE_TOO_LARGE",
  UNSUPPORTED_MEDIA_TYPE: "BAD_REQUEST",
  UNPROCESSABLE_CONTENT: "BAD_REQUEST",
  TOO_MANY_REQUESTS: "RATE_LIMITED",
  SERVICE_UNAVAILABLE: "UNAVAILABLE",
  GATEWAY_TIMEOUT: "TIMEOUT",
  TIMEOUT: "TIMEOUT",
};

export function toTRPCError(err: RelaybaseError): TRPCError {
  return new TRPCError({ code: TRPC_CODE_OF[err.code], message: err.message, cause: err });
}

/** The Relaybase code a tRPC error stands for. */
export function relaybaseCodeOf(error: TRPCError): ErrorCode {
  if (error.cause instanceof RelaybaseError) return error.cause.code;
  const fromCause = (error.cause as { code?: unknown } | undefined)?.code;
  if (isErrorCode(fromCause)) return fromCause;
  return RELAYBASE_CODE_OF[error.code] ?? "INTERNAL";
}
