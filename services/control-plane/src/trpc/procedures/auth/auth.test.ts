import { describe, expect, it } from "vitest";
import {
  consoleClient,
  DB_MODES,
  relaybaseCodeOf,
  uniqueEmail,
  useControlPlane,
} from "../../../testing/harness.js";

describe.each(DB_MODES)("console auth over tRPC (%s)", (mode) => {
  const cp = useControlPlane(mode);

  it("signs up, is signed in, signs out, logs back in", async () => {
    const { client, jar } = consoleClient(cp.server.url);
    const email = uniqueEmail("Signup");
    const signedUp = await client.auth.signup.mutate({
      email,
      password: "correct horse battery",
      name: "Ada",
    });
    expect(signedUp.user.email).toBe(email.toLowerCase());
    expect(signedUp.user.name).toBe("Ada");
    expect(signedUp.orgs).toEqual([
      expect.objectContaining({ name: "Ada's org", plan: "free", role: "owner" }),
    ]);

    const cookie = jar.lastSetCookie.find((c) => c.startsWith("rb_session="));
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i); // PUBLIC_URL is http:// in tests

    const me = await client.auth.me.query();
    expect(me.user.id).toBe(signedUp.user.id);

    await client.auth.logout.mutate();
    expect(jar.session).toBeUndefined();
    expect(await relaybaseCodeOf(client.auth.me.query())).toBe("UNAUTHENTICATED");

    // Email matching ignores case.
    const loggedIn = await client.auth.login.mutate({
      email: email.toUpperCase(),
      password: "correct horse battery",
    });
    expect(loggedIn.user.id).toBe(signedUp.user.id);
    expect((await client.auth.me.query()).user.email).toBe(email.toLowerCase());
  });

  it("refuses a second account with the same email (any case) with CONFLICT", async () => {
    const email = uniqueEmail();
    await consoleClient(cp.server.url).client.auth.signup.mutate({ email, password: "password one" });
    const again = consoleClient(cp.server.url).client.auth.signup.mutate({
      email: email.toUpperCase(),
      password: "password two",
    });
    expect(await relaybaseCodeOf(again)).toBe("CONFLICT");
  });

  it("rejects a wrong password and an unknown email alike with INVALID_CREDENTIALS", async () => {
    const email = uniqueEmail();
    await consoleClient(cp.server.url).client.auth.signup.mutate({ email, password: "the right one" });
    const { client, jar } = consoleClient(cp.server.url);
    expect(await relaybaseCodeOf(client.auth.login.mutate({ email, password: "the wrong one" }))).toBe(
      "INVALID_CREDENTIALS",
    );
    expect(
      await relaybaseCodeOf(
        client.auth.login.mutate({ email: uniqueEmail("nobody"), password: "whatever1" }),
      ),
    ).toBe("INVALID_CREDENTIALS");
    expect(jar.session).toBeUndefined();
  });

  it("answers UNAUTHENTICATED without a session or with a forged one", async () => {
    const { client, jar } = consoleClient(cp.server.url);
    expect(await relaybaseCodeOf(client.auth.me.query())).toBe("UNAUTHENTICATED");
    expect(await relaybaseCodeOf(client.apps.list.query())).toBe("UNAUTHENTICATED");
    jar.session = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3JfeCJ9.c2lnbmF0dXJl";
    expect(await relaybaseCodeOf(client.auth.me.query())).toBe("UNAUTHENTICATED");
  });

  it("validates input with BAD_REQUEST", async () => {
    const { client } = consoleClient(cp.server.url);
    expect(
      await relaybaseCodeOf(client.auth.signup.mutate({ email: "not-an-email", password: "long enough" })),
    ).toBe("BAD_REQUEST");
    expect(
      await relaybaseCodeOf(client.auth.signup.mutate({ email: uniqueEmail(), password: "short" })),
    ).toBe("BAD_REQUEST");
  });

  it("rate-limits login attempts per email and IP with RATE_LIMITED", async () => {
    const email = uniqueEmail("limited");
    await consoleClient(cp.server.url).client.auth.signup.mutate({ email, password: "the right one" });
    const { client } = consoleClient(cp.server.url);
    for (let i = 0; i < 10; i++) {
      expect(await relaybaseCodeOf(client.auth.login.mutate({ email, password: "wrong guess" }))).toBe(
        "INVALID_CREDENTIALS",
      );
    }
    // Even the right password is refused until the window passes.
    expect(await relaybaseCodeOf(client.auth.login.mutate({ email, password: "the right one" }))).toBe(
      "RATE_LIMITED",
    );
    // Other accounts are not affected.
    const other = uniqueEmail();
    await consoleClient(cp.server.url).client.auth.signup.mutate({ email: other, password: "the right one" });
    await expect(client.auth.login.mutate({ email: other, password: "the right one" })).resolves.toBeTruthy();
  });

  it("returns HTTP statuses and the Relaybase code in the error body", async () => {
    const res = await fetch(`${cp.server.url}/trpc/auth.me`);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { data: { relaybaseCode: string; retry: string } } };
    expect(body.error.data).toMatchObject({ relaybaseCode: "UNAUTHENTICATED", retry: "never" });
    expect(JSON.stringify(body)).not.toMatch(/stack/);
  });
});
