import { randomBytes } from "node:crypto";
import { randomId } from "@relaybase/server-kit";
import { and, eq, lt } from "drizzle-orm";
import { base64url, errors, jwtVerify, SignJWT } from "jose";
import type { Database } from "../db/index.js";
import { sessions, settings, users } from "../db/schema.js";

export const SESSION_COOKIE = "rb_session";
const SESSION_AUDIENCE = "relaybase:console";
const SECRET_SETTING = "session_hs256_secret";

/** The signed-in user, as authed procedures see it. */
export interface SessionUser {
  id: string;
  email: string;
  name: string | null;
  createdAt: Date;
}

/**
 * Console sessions: a short HS256 JWT in an httpOnly cookie, naming a row of the
 * `sessions` table (claim `sid`). Only the control plane reads it, so a symmetric secret
 * is enough; it lives in the `settings` table so sessions survive restarts and are
 * shared by replicas.
 *
 * Every authed request checks the row: one primary-key lookup joined with the user (the
 * user lookup it replaces was already there), no cache, so a logout takes effect on every
 * replica at once. Logout deletes the row: a copy of the cookie taken before it is refused.
 */
export class Sessions {
  private constructor(
    private readonly db: Database,
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
    return new Sessions(db, base64url.decode(row.value), issuer, ttlSeconds);
  }

  /** Starts a session for the user and returns the cookie's token. */
  async issue(userId: string): Promise<string> {
    const id = `ses_${randomId(24)}`;
    const now = Date.now();
    const expiresAt = new Date(now + this.ttlSeconds * 1000);
    // Housekeeping: the user's expired sessions go when they sign in again.
    await this.db
      .delete(sessions)
      .where(and(eq(sessions.userId, userId), lt(sessions.expiresAt, new Date(now))));
    await this.db.insert(sessions).values({ id, userId, expiresAt });
    return new SignJWT({ sid: id })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(userId)
      .setIssuer(this.issuer)
      .setAudience(SESSION_AUDIENCE)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(this.secret);
  }

  /**
   * The user of a live session: the token verifies (signature, issuer, audience, expiry)
   * and its session row still exists. Undefined otherwise (missing, expired, tampered,
   * logged out, or a token from before sessions had ids).
   */
  async authenticate(token: string | undefined): Promise<SessionUser | undefined> {
    const claims = await this.#verify(token);
    if (!claims) return undefined;
    const [user] = await this.db
      .select({ id: users.id, email: users.email, name: users.name, createdAt: users.createdAt })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(and(eq(sessions.id, claims.sid), eq(sessions.userId, claims.sub)));
    return user;
  }

  /** Ends the token's session, if it is one; every copy of the cookie stops working. */
  async revoke(token: string | undefined): Promise<void> {
    const claims = await this.#verify(token);
    if (claims) await this.db.delete(sessions).where(eq(sessions.id, claims.sid));
  }

  async #verify(token: string | undefined): Promise<{ sub: string; sid: string } | undefined> {
    if (!token) return undefined;
    try {
      const { payload } = await jwtVerify(token, this.secret, {
        algorithms: ["HS256"],
        issuer: this.issuer,
        audience: SESSION_AUDIENCE,
      });
      const { sub, sid } = payload;
      return typeof sub === "string" && typeof sid === "string" ? { sub, sid } : undefined;
    } catch (err) {
      if (err instanceof errors.JOSEError) return undefined;
      throw err;
    }
  }
}
