import {
  type ErrorCode,
  isErrorCode,
  RelaybaseError,
  type Retry,
  type WireError,
} from "@relaybase/protocol/wire";

/** A publish that failed; `messageId` lets the app retry it later without duplicates. */
export class PublishError extends RelaybaseError {
  readonly room: string;
  readonly messageId: string;

  constructor(code: ErrorCode, message: string | undefined, room: string, messageId: string) {
    super(code, message);
    this.name = "PublishError";
    this.room = room;
    this.messageId = messageId;
  }
}

const RETRIES: readonly Retry[] = ["never", "backoff", "now", "reauth"];

/** Reads a WireError from untrusted input (a connect error's `data`, an ack). */
export function asWireError(value: unknown): WireError | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { code, message, retry } = value as Record<string, unknown>;
  if (typeof code !== "string") return undefined;
  return {
    // A code this SDK version does not know (newer server) still carries its retry hint.
    code: code as ErrorCode,
    message: typeof message === "string" ? message : code,
    retry: RETRIES.includes(retry as Retry) ? (retry as Retry) : "backoff",
  };
}

export function toRelaybaseError(wire: WireError): RelaybaseError {
  if (isErrorCode(wire.code)) return new RelaybaseError(wire.code, wire.message);
  return new RelaybaseError("INTERNAL", `${wire.code}: ${wire.message}`);
}
