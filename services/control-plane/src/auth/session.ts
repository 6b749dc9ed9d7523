import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { base64url, errors, jwtVerify, SignJWT } from "jose";
import type { Database } from "../db/index.js";
import { settings } from "../db/schema.js";

export const SESSION_COOKIE = "rb_session";
const SESSION_AUDIENCE = "relaybase:console";
const SECRET_SETTING = "session_hs256_secret";

/**
 * Console sessions: a short HS256 JWT in an httpOnly cookie. Only the control plane
 * reads it, so a symmetric secret is enough; it lives in the `settings` table so
 * sessions survive restarts and are shared by replicas.
 */
export class Sessions {
  private constructor(
    private readonly secret: Uint8Array,
    private readonly issuer: string,
    readonly ttlSeconds: number,
  ) {}

  static async open(db: Database, issuer: string, ttlSeconds: number): Promise<Sessions> {
    // Insert-if-absent then read back: concurrent first starts agree on one secret.
    await db
      .insert(settings)
      .values({ key: SECRET_SETTING, value: base64url.encode(randomBytes(32)) })
      .onConflictDoNothing();
    const [row] = await db.select().from(settings).where(eq(settings.key, SECRET_SETTING));
    if (typeof row?.value !== "string") throw new Error("session secret missing from settings");
    return new Sessions(base64url.decode(row.value), issuer, ttlSeconds);
  }

  issue(userId: string): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(userId)
      .setIssuer(this.issuer)
      .setAudience(SESSION_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.secret);
  }

  /** The user id of a valid session token, or undefined (missing, expired, tampered). */
  async verify(token: string | undefined): Promise<string | undefined> {
    if (!token) return undefined;
    try {
      const { payload } = await jwtVerify(token, this.secret, {
        algorithms: ["HS256"],
        issuer: this.issuer,
        audience: SESSION_AUDIENCE,
      });
      return typeof payload.sub === "string" ? payload.sub : undefined;
    } catch (err) {
      if (err instanceof errors.JOSEError) return undefined;
      throw err;
    }
  }
}
