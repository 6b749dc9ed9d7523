import { RelaybaseError } from "@relaybase/protocol";

/**
 * How credentials arrive at the edges, in one place: `Authorization: Bearer …` on HTTP
 * (tokens, REST publish, operator routes) and the key kinds (DESIGN §3) that every
 * endpoint tells apart before looking anything up.
 */

/** The credential of `Authorization: Bearer <credential>`; the scheme is case-insensitive (RFC 7235). */
export function bearerCredential(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1];
}

export type KeyKind = "publishable" | "secret";

/** Which kind of API key a string claims to be (by its prefix); whether it exists is another question. */
export function keyKindOf(key: unknown): KeyKind | undefined {
  if (typeof key !== "string") return undefined;
  if (key.startsWith("pk_")) return "publishable";
  if (key.startsWith("sk_")) return "secret";
  return undefined;
}

/**
 * The secret key a server-side endpoint was called with. INVALID_KEY when there is none;
 * WRONG_KEY_TYPE for a publishable key, so a developer learns which key to use.
 * `purpose` names the endpoint in that message ("Publishing over REST").
 */
export function secretKeyFrom(authorization: string | undefined, purpose: string): string {
  const key = bearerCredential(authorization);
  if (!key) throw new RelaybaseError("INVALID_KEY", "Send your secret key as `Authorization: Bearer sk_…`.");
  if (keyKindOf(key) === "publishable") {
    throw new RelaybaseError(
      "WRONG_KEY_TYPE",
      `${purpose} needs a secret key (sk_…), not a publishable one.`,
    );
  }
  return key;
}

/** A client handshake must carry the publishable key: a secret key there is a leak to stop. */
export function refuseSecretKeyInClient(key: unknown): void {
  if (keyKindOf(key) === "secret") {
    throw new RelaybaseError(
      "WRONG_KEY_TYPE",
      "Never put a secret key in a client; use the publishable key.",
    );
  }
}
