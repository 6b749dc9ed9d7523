import { createHash, randomBytes, randomFillSync, timingSafeEqual } from "node:crypto";

/**
 * API key formats (DESIGN §3):
 * - publishable `pk_<24 chars>`: identifies an app, safe in browsers.
 * - secret `sk_<keyId>_<secret>`: servers only; we keep only the SHA-256 of the whole
 *   key and look it up by its key id, then compare hashes in constant time.
 */
const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

export function randomId(length: number): string {
  // 62 does not divide 256, so reject bytes >= 248 to keep the choice uniform.
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

export const newAppId = (): string => `app_${randomId(16)}`;

/**
 * Message ids (`m_` + 16 of the same alphabet) come from a pool of random bytes filled 4 KiB
 * at a time: one `randomBytes` call per message was ~4% of a REST publish. Keys and secrets
 * keep `randomId`, whose bytes never sit in a pool.
 */
const ID_POOL = Buffer.alloc(4096);
let idPoolAt = ID_POOL.length;

export function newMessageId(): string {
  let out = "m_";
  while (out.length < 18) {
    if (idPoolAt === ID_POOL.length) {
      randomFillSync(ID_POOL);
      idPoolAt = 0;
    }
    const byte = ID_POOL[idPoolAt++]!;
    if (byte < 248) out += ALPHABET[byte % 62];
  }
  return out;
}
export const newPublishableKey = (): string => `pk_${randomId(24)}`;

export function newSecretKey(): { keyId: string; secret: string; hash: string } {
  const keyId = randomId(12);
  const secret = `sk_${keyId}_${randomId(32)}`;
  return { keyId, secret, hash: hashSecret(secret) };
}

const SECRET_PATTERN = /^sk_([A-Za-z0-9]{12})_[A-Za-z0-9]{32}$/;

/** The key id of a well-formed secret key, or undefined. */
export function secretKeyId(secret: string): string | undefined {
  return SECRET_PATTERN.exec(secret)?.[1];
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && timingSafeEqual(x, y);
}
