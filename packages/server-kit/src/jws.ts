import { createPublicKey, KeyObject, verify } from "node:crypto";
import type { JWK, JWTVerifyGetKey } from "jose";

/**
 * Compact JWS verification with node:crypto, synchronously, for the connection token
 * (DESIGN §3). jose's `jwtVerify` goes through WebCrypto, whose every verification is a
 * job on libuv's thread pool and a hop back: 141 µs of CPU per token against 86 µs for
 * the same check done here (docs/benchmarks.md), on every handshake. Keys are
 * still found by jose (`createLocalJWKSet` / `createRemoteJWKSet`, with their kid
 * matching, caching and reloads); only the signature check and the decoding are here.
 *
 * Deliberately narrow: the two asymmetric algorithms tokens may use, no `crit`
 * extensions, no unencoded payloads. Anything else is refused, never guessed at.
 */
export type JwsAlgorithm = "EdDSA" | "ES256";

export class JwsInvalid extends Error {}

export interface VerifiedJws {
  header: Record<string, unknown>;
  payload: unknown;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Node's KeyObject for each key jose resolved (CryptoKeys are cached by the key set, so by identity here). */
const keyObjects = new WeakMap<object, KeyObject>();

export async function verifyCompactJws(
  token: string,
  getKey: JWTVerifyGetKey,
  algorithms: readonly JwsAlgorithm[],
): Promise<VerifiedJws> {
  const parts = token.split(".");
  if (parts.length !== 3) throw new JwsInvalid("not a compact JWS");
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  if (!BASE64URL.test(headerPart) || !BASE64URL.test(payloadPart) || !BASE64URL.test(signaturePart)) {
    throw new JwsInvalid("not base64url");
  }
  const header = decodeJson(headerPart);
  if (!isObject(header)) throw new JwsInvalid("the header is not an object");
  const alg = header.alg;
  if (typeof alg !== "string" || !(algorithms as readonly string[]).includes(alg)) {
    throw new JwsInvalid("algorithm not allowed");
  }
  // Extensions we do not implement must not be ignored (RFC 7515 §4.1.11); `b64` is one.
  if ("crit" in header || "b64" in header) throw new JwsInvalid("unsupported header parameter");
  const found = await getKey(header as Parameters<JWTVerifyGetKey>[0], {
    payload: payloadPart,
    signature: signaturePart,
  });
  const key = keyObjectOf(found);
  const signed = Buffer.from(`${headerPart}.${payloadPart}`, "ascii");
  const signature = Buffer.from(signaturePart, "base64url");
  if (!signatureMatches(alg as JwsAlgorithm, key, signed, signature)) throw new JwsInvalid("bad signature");
  return { header, payload: decodeJson(payloadPart) };
}

function signatureMatches(alg: JwsAlgorithm, key: KeyObject, signed: Buffer, signature: Buffer): boolean {
  if (alg === "EdDSA") {
    if (key.asymmetricKeyType !== "ed25519" && key.asymmetricKeyType !== "ed448") return false;
    return verify(null, signed, key, signature);
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") return false;
  // JWS carries ECDSA signatures as r‖s (64 bytes), not DER.
  if (signature.length !== 64) return false;
  return verify("sha256", signed, { key, dsaEncoding: "ieee-p1363" }, signature);
}

function keyObjectOf(found: Awaited<ReturnType<JWTVerifyGetKey>>): KeyObject {
  if (found instanceof KeyObject) return assertPublic(found);
  if (found instanceof Uint8Array) throw new JwsInvalid("a symmetric key cannot verify these algorithms");
  const cached = keyObjects.get(found);
  if (cached) return cached;
  const key =
    typeof (found as CryptoKey).type === "string" && "algorithm" in found
      ? KeyObject.from(found as CryptoKey)
      : createPublicKey({ key: found as JWK & { kty: string }, format: "jwk" });
  keyObjects.set(found, assertPublic(key));
  return key;
}

function assertPublic(key: KeyObject): KeyObject {
  if (key.type !== "public") throw new JwsInvalid("not a public key");
  return key;
}

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    throw new JwsInvalid("not JSON");
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
