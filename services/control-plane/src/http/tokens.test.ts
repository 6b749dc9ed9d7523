import { TOKEN_AUDIENCE, verifyToken } from "@relaybase/server-kit";
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  consoleClient,
  createTestDatabase,
  DB_MODES,
  type RunningControlPlane,
  startControlPlane,
  type TestDatabase,
  uniqueEmail,
} from "../testing/harness.js";

const ISSUER = "https://relay.test";

describe.each(DB_MODES)("POST /v1/tokens and the JWKS (%s)", (mode) => {
  let database: TestDatabase;
  let server: RunningControlPlane;
  let appId: string;
  let secret: string;
  let publishable: string;
  let doomedSecret: string;
  let revokeDoomed: () => Promise<void>;

  /** `authorization: null` sends no Authorization header at all. */
  const mint = (body: unknown, authorization: string | null = `Bearer ${secret}`) =>
    fetch(`${server.url}/v1/tokens`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(authorization === null ? {} : { authorization }),
      },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  const servedJwks = async () =>
    (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error;

  beforeAll(async () => {
    database = await createTestDatabase(mode);
    server = await startControlPlane(database, { PUBLIC_URL: ISSUER, COOKIE_SECURE: "false" });
    const { client } = consoleClient(server.url);
    await client.auth.signup.mutate({ email: uniqueEmail(), password: "a long password" });
    const created = await client.apps.create.mutate({ name: "Tokens" });
    appId = created.app.id;
    publishable = created.publishableKey.publishableKey!;
    secret = (await client.keys.create.mutate({ appId, kind: "secret", name: "server" })).secret!;
    const doomed = await client.keys.create.mutate({ appId, kind: "secret", name: "doomed" });
    doomedSecret = doomed.secret!;
    revokeDoomed = async () => {
      await client.keys.revoke.mutate({ appId, keyId: doomed.key.id });
    };
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  it("mints an EdDSA token the served JWKS verifies, with exactly the shared claims", async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await mint({
      userId: "user-42",
      capabilities: { "chat:*": ["subscribe", "publish"] },
      ttl: 600,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const { token, expiresAt } = (await res.json()) as { token: string; expiresAt: number };

    const header = decodeProtectedHeader(token);
    expect(header.alg).toBe("EdDSA");
    const jwks = await servedJwks();
    expect(jwks.keys.map((k) => k.kid)).toContain(header.kid);
    expect(JSON.stringify(jwks)).not.toMatch(/"d"/); // public halves only

    const claims = await verifyToken(token, createLocalJWKSet(jwks), ISSUER);
    expect(Object.keys(claims).sort()).toEqual(["app", "aud", "caps", "exp", "iat", "iss", "jti", "sub"]);
    expect(claims).toMatchObject({
      iss: ISSUER,
      aud: TOKEN_AUDIENCE,
      sub: "user-42",
      app: appId,
      caps: { "chat:*": ["subscribe", "publish"] },
      exp: expiresAt,
    });
    expect(claims.exp - claims.iat).toBe(600);
    expect(claims.iat).toBeGreaterThanOrEqual(before);

    // The in-process JWKS (all-in-one) is the same set.
    expect(await server.controlPlane.jwks()).toEqual(jwks);
    expect(server.controlPlane.issuer).toBe(ISSUER);
  });

  it("defaults to one hour and no subject", async () => {
    const res = await mint({ capabilities: {} });
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    const claims = await verifyToken(token, createLocalJWKSet(await servedJwks()), ISSUER);
    expect(claims.exp - claims.iat).toBe(3600);
    expect(claims.sub).toBeUndefined();
  });

  it("refuses bad keys: revoked → INVALID_KEY, publishable → WRONG_KEY_TYPE, missing or garbage → INVALID_KEY", async () => {
    expect((await mint({ capabilities: {} }, `Bearer ${doomedSecret}`)).status).toBe(200);
    await revokeDoomed();
    const revoked = await mint({ capabilities: {} }, `Bearer ${doomedSecret}`);
    expect(revoked.status).toBe(401);
    expect(await errorOf(revoked)).toMatchObject({ code: "INVALID_KEY", retry: "never" });

    const pk = await mint({ capabilities: {} }, `Bearer ${publishable}`);
    expect(pk.status).toBe(401);
    expect((await errorOf(pk)).code).toBe("WRONG_KEY_TYPE");

    const forged = `${secret.slice(0, 16)}${"A".repeat(32)}`; // right key id, wrong secret
    for (const auth of [null, "", "Bearer", "Basic abc", "Bearer garbage", `Bearer ${forged}`]) {
      const res = await mint({ capabilities: {} }, auth);
      expect(res.status, String(auth)).toBe(401);
      expect((await errorOf(res)).code, String(auth)).toBe("INVALID_KEY");
    }
  });

  it("refuses bad bodies with BAD_REQUEST 400", async () => {
    for (const body of [
      { capabilities: {}, ttl: 86_401 },
      { capabilities: {}, ttl: 0 },
      { capabilities: {}, ttl: 1.5 },
      { capabilities: { "chat:*": ["fly"] } },
      {},
      { capabilities: {}, extra: true },
      "{not json",
    ]) {
      const res = await mint(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: "BAD_REQUEST", retry: "never" });
    }
    const noBody = await fetch(`${server.url}/v1/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(noBody.status).toBe(400);
    expect((await errorOf(noBody)).code).toBe("BAD_REQUEST");
  });

  it("rotates the signing key and keeps the old one in the JWKS until it retires", async () => {
    const oldToken = ((await (await mint({ capabilities: {} })).json()) as { token: string }).token;
    const oldKid = decodeProtectedHeader(oldToken).kid;

    const { kid: newKid } = await server.controlPlane.rotateSigningKey();
    expect(newKid).not.toBe(oldKid);
    const newToken = ((await (await mint({ capabilities: {} })).json()) as { token: string }).token;
    expect(decodeProtectedHeader(newToken).kid).toBe(newKid);

    let jwks = await servedJwks();
    expect(jwks.keys.map((k) => k.kid)).toEqual([newKid, oldKid]);
    await expect(verifyToken(oldToken, createLocalJWKSet(jwks), ISSUER)).resolves.toBeTruthy();
    await expect(verifyToken(newToken, createLocalJWKSet(jwks), ISSUER)).resolves.toBeTruthy();

    // Rotating again with no grace drops `newKid` at once; the first key is still within its day.
    const { kid: newestKid } = await server.controlPlane.rotateSigningKey({ graceSeconds: 0 });
    jwks = await servedJwks();
    expect(jwks.keys.map((k) => k.kid)).toEqual([newestKid, oldKid]);
    await expect(verifyToken(newToken, createLocalJWKSet(jwks), ISSUER)).rejects.toMatchObject({
      code: "TOKEN_INVALID",
    });
  });
});
