import { createHmac, KeyObject, sign as signBytes } from "node:crypto";
import {
  type CryptoKey,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTVerifyGetKey,
  SignJWT,
} from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { TOKEN_AUDIENCE, verifyToken } from "./tokens.js";

/**
 * The connection token verifier (jws.ts + tokens.ts) against tokens signed by jose, the
 * library the control plane signs with: what it accepts, and every way a forged, altered
 * or stale token is refused with the code a client sees.
 */
const ISSUER = "https://relay.test";
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

interface Signer {
  kid: string;
  alg: "EdDSA" | "ES256";
  privateKey: CryptoKey;
  jwk: JWK;
}

async function signer(alg: Signer["alg"], kid: string): Promise<Signer> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

function claims(overrides: Record<string, unknown> = {}) {
  const iat = now();
  return {
    iss: ISSUER,
    aud: TOKEN_AUDIENCE,
    sub: "user-1",
    app: "app_1",
    caps: { "chat:*": ["subscribe"] },
    iat,
    exp: iat + 600,
    jti: "t1",
    ...overrides,
  };
}

function sign(s: Signer, payload: Record<string, unknown> = claims(), header: Record<string, unknown> = {}) {
  return new SignJWT(payload).setProtectedHeader({ alg: s.alg, kid: s.kid, ...header }).sign(s.privateKey);
}

describe("verifyToken", () => {
  let ed: Signer;
  let ec: Signer;
  let stranger: Signer;
  let keys: JWTVerifyGetKey;

  beforeAll(async () => {
    ed = await signer("EdDSA", "ed-1");
    ec = await signer("ES256", "ec-1");
    stranger = await signer("EdDSA", "ed-1"); // same kid, another key: a forger's guess
    keys = createLocalJWKSet({ keys: [ed.jwk, ec.jwk] });
  });

  const code = (token: string) =>
    verifyToken(token, keys, ISSUER).then(
      () => "accepted",
      (err: { code?: string }) => err.code,
    );

  it("accepts EdDSA and ES256 tokens of the key set, with their claims", async () => {
    for (const s of [ed, ec]) {
      const verified = await verifyToken(await sign(s), keys, ISSUER);
      expect(verified).toMatchObject({ sub: "user-1", app: "app_1", caps: { "chat:*": ["subscribe"] } });
    }
  });

  it("verifies the same token again with the cached key (many handshakes, one import)", async () => {
    const token = await sign(ed);
    for (let i = 0; i < 3; i++) await expect(verifyToken(token, keys, ISSUER)).resolves.toBeTruthy();
  });

  it("refuses a token signed by another key under a known kid, or under an unknown kid", async () => {
    expect(await code(await sign(stranger))).toBe("TOKEN_INVALID");
    expect(await code(await sign(ed, claims(), { kid: "nobody" }))).toBe("TOKEN_INVALID");
  });

  it("refuses altered claims: the signature covers the exact bytes", async () => {
    const [h, , s] = (await sign(ed)).split(".");
    const forged = b64(claims({ caps: { "*": ["subscribe", "publish", "presence", "history"] } }));
    expect(await code(`${h}.${forged}.${s}`)).toBe("TOKEN_INVALID");
  });

  it("refuses alg none, HMAC with the public key as the secret, and an algorithm the key is not for", async () => {
    const payload = b64(claims());
    expect(await code(`${b64({ alg: "none", kid: ed.kid })}.${payload}.`)).toBe("TOKEN_INVALID");
    const hs = b64({ alg: "HS256", kid: ed.kid });
    const mac = createHmac("sha256", JSON.stringify(ed.jwk)).update(`${hs}.${payload}`).digest("base64url");
    expect(await code(`${hs}.${payload}.${mac}`)).toBe("TOKEN_INVALID");
    // An EdDSA signature presented as ES256 under the EdDSA key's id.
    const [, p, sig] = (await sign(ed)).split(".");
    expect(await code(`${b64({ alg: "ES256", kid: ed.kid })}.${p}.${sig}`)).toBe("TOKEN_INVALID");
  });

  it("refuses critical extensions and unencoded payloads it does not implement", async () => {
    // Signed by hand: jose itself will not sign these headers.
    const raw = (header: Record<string, unknown>) => {
      const data = `${b64({ alg: "EdDSA", kid: ed.kid, ...header })}.${b64(claims())}`;
      const signature = signBytes(null, Buffer.from(data), KeyObject.from(ed.privateKey));
      return `${data}.${signature.toString("base64url")}`;
    };
    expect(await code(raw({}))).toBe("accepted");
    expect(await code(raw({ crit: ["exp"], exp: 1 }))).toBe("TOKEN_INVALID");
    expect(await code(raw({ b64: true, crit: ["b64"] }))).toBe("TOKEN_INVALID");
  });

  it("refuses malformed tokens without throwing anything but the code", async () => {
    const good = await sign(ed);
    const [h, p, s] = good.split(".") as [string, string, string];
    for (const bad of [
      "",
      "abc",
      `${h}.${p}`,
      `${good}.extra`,
      `${h}.${p}.${s}!`,
      `${b64([1, 2])}.${p}.${s}`,
      `${Buffer.from("{not json").toString("base64url")}.${p}.${s}`,
      `${h}.${Buffer.from("[]").toString("base64url")}.${s}`,
      "\u0000.\u0000.\u0000",
    ]) {
      expect(await code(bad)).toBe("TOKEN_INVALID");
    }
  });

  it("refuses an ES256 signature in DER form (JWS carries r‖s)", async () => {
    const [h, p, s] = (await sign(ec)).split(".") as [string, string, string];
    const raw = Buffer.from(s, "base64url");
    const der = Buffer.concat([
      Buffer.from([0x30, 0x44, 0x02, 0x20]),
      raw.subarray(0, 32),
      Buffer.from([0x02, 0x20]),
      raw.subarray(32),
    ]);
    expect(await code(`${h}.${p}.${der.toString("base64url")}`)).toBe("TOKEN_INVALID");
  });

  it("answers TOKEN_EXPIRED for an expired token and TOKEN_INVALID for one not valid yet", async () => {
    expect(await code(await sign(ed, claims({ iat: now() - 700, exp: now() - 100 })))).toBe("TOKEN_EXPIRED");
    expect(await code(await sign(ed, claims({ exp: now() })))).toBe("TOKEN_EXPIRED");
    expect(await code(await sign(ed, claims({ nbf: now() + 60 })))).toBe("TOKEN_INVALID");
    expect(await code(await sign(ed, claims({ nbf: "soon" })))).toBe("TOKEN_INVALID");
  });

  it("refuses another issuer or audience, missing or malformed claims, and lives over 24 h", async () => {
    expect(await code(await sign(ed, claims({ iss: "https://elsewhere.test" })))).toBe("TOKEN_INVALID");
    expect(await code(await sign(ed, claims({ aud: "someone-else" })))).toBe("TOKEN_INVALID");
    expect(await code(await sign(ed, claims({ aud: [TOKEN_AUDIENCE, "x"] })))).toBe("TOKEN_INVALID");
    expect(await code(await sign(ed, claims({ app: undefined })))).toBe("TOKEN_INVALID");
    expect(await code(await sign(ed, claims({ exp: "later" })))).toBe("TOKEN_INVALID");
    expect(await code(await sign(ed, claims({ caps: { "chat:*": ["fly"] } })))).toBe("TOKEN_INVALID");
    expect(await code(await sign(ed, claims({ iat: now(), exp: now() + 25 * 3600 })))).toBe("TOKEN_INVALID");
  });
});
