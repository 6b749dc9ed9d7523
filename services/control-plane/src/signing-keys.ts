import { type Capabilities, RelaybaseError } from "@relaybase/protocol";
import { MAX_TOKEN_TTL_SECONDS, randomId, TOKEN_AUDIENCE, type TokenClaims } from "@relaybase/server-kit";
import { desc, gt, isNull, or } from "drizzle-orm";
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  SignJWT,
} from "jose";
import type { Database } from "./db/index.js";
import { signingKeys } from "./db/schema.js";

const ALG = "EdDSA";
/** How long a replica may keep signing with a key after another one rotated it. */
const CURRENT_KEY_CACHE_MS = 60_000;
/** The served JWKS is cached this long; `refreshingLocalJwks` and jose reload on an unknown kid. */
const JWKS_CACHE_MS = 5_000;
/**
 * A rotated key stays in the JWKS until every token it signed has expired: the longest
 * token life, plus the time other replicas may still sign with it.
 */
export const DEFAULT_RETIRE_GRACE_SECONDS = MAX_TOKEN_TTL_SECONDS + CURRENT_KEY_CACHE_MS / 1000;

export interface IssueTokenInput {
  appId: string;
  userId?: string | undefined;
  capabilities: Capabilities;
  ttlSeconds: number;
  /** The console's debug tail claim (apps.debugToken only; never from `POST /v1/tokens`). */
  debug?: true;
}

/**
 * The platform's token signing keys (DESIGN §3): Ed25519, generated on first start and
 * kept in `signing_keys`, public halves served as the JWKS. Realtime nodes only ever
 * see the public keys.
 */
export class SigningKeys {
  #current: { kid: string; key: CryptoKey; loadedAt: number } | undefined;
  #jwks: { set: JSONWebKeySet; loadedAt: number } | undefined;

  constructor(
    private readonly db: Database,
    private readonly issuer: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates the first key when there is none. */
  async ensure(): Promise<void> {
    const [live] = await this.db
      .select({ kid: signingKeys.kid })
      .from(signingKeys)
      .where(isNull(signingKeys.retiredAt))
      .limit(1);
    if (!live) await this.#insertNewKey(this.db);
  }

  /**
   * Adds a new signing key and schedules the current one(s) to leave the JWKS after
   * `graceSeconds` (default: a day and a minute); until then tokens they signed verify.
   */
  async rotate(options: { graceSeconds?: number } = {}): Promise<{ kid: string }> {
    const graceSeconds = options.graceSeconds ?? DEFAULT_RETIRE_GRACE_SECONDS;
    const retireAt = new Date(this.now() + graceSeconds * 1000);
    const kid = await this.db.transaction(async (tx) => {
      await tx.update(signingKeys).set({ retiredAt: retireAt }).where(isNull(signingKeys.retiredAt));
      return this.#insertNewKey(tx);
    });
    this.#current = undefined;
    this.#jwks = undefined;
    return { kid };
  }

  /** Public keys still to be trusted: the signing key and those retiring but not yet retired. */
  async jwks(): Promise<JSONWebKeySet> {
    const cached = this.#jwks;
    if (cached && this.now() - cached.loadedAt < JWKS_CACHE_MS) return structuredClone(cached.set);
    const rows = await this.db
      .select({ publicJwk: signingKeys.publicJwk })
      .from(signingKeys)
      .where(or(isNull(signingKeys.retiredAt), gt(signingKeys.retiredAt, new Date(this.now()))))
      .orderBy(desc(signingKeys.createdAt));
    const set: JSONWebKeySet = { keys: rows.map((r) => r.publicJwk as JWK) };
    this.#jwks = { set, loadedAt: this.now() };
    return structuredClone(set);
  }

  /** Signs a connection token with exactly the claims of server-kit's `tokenClaimsSchema`. */
  async issue(input: IssueTokenInput): Promise<{ token: string; claims: TokenClaims }> {
    const { kid, key } = await this.#signingKey();
    const iat = Math.floor(this.now() / 1000);
    const claims: TokenClaims = {
      iss: this.issuer,
      aud: TOKEN_AUDIENCE,
      ...(input.userId === undefined ? {} : { sub: input.userId }),
      app: input.appId,
      caps: input.capabilities,
      ...(input.debug ? { debug: true as const } : {}),
      iat,
      exp: iat + input.ttlSeconds,
      jti: randomId(20),
    };
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: ALG, kid, typ: "JWT" })
      .sign(key);
    return { token, claims };
  }

  async #signingKey(): Promise<{ kid: string; key: CryptoKey }> {
    const cached = this.#current;
    if (cached && this.now() - cached.loadedAt < CURRENT_KEY_CACHE_MS) return cached;
    const [row] = await this.db
      .select()
      .from(signingKeys)
      .where(isNull(signingKeys.retiredAt))
      .orderBy(desc(signingKeys.createdAt))
      .limit(1);
    if (!row) throw new RelaybaseError("UNAVAILABLE", "No token signing key; the control plane is starting.");
    const key = await importJWK(row.privateJwk as JWK, row.alg);
    if (!(key instanceof CryptoKey)) throw new Error("signing key did not import as a CryptoKey");
    this.#current = { kid: row.kid, key, loadedAt: this.now() };
    return this.#current;
  }

  async #insertNewKey(db: Pick<Database, "insert">): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair(ALG, { crv: "Ed25519", extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: ALG };
    await db.insert(signingKeys).values({
      kid,
      alg: ALG,
      privateJwk,
      publicJwk: { ...publicJwk, kid, alg: ALG, use: "sig" },
    });
    return kid;
  }
}
