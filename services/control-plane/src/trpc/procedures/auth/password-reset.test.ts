import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  consoleClient,
  createTestDatabase,
  DB_MODES,
  type MailInbox,
  type RunningControlPlane,
  relaybaseCodeOf,
  startControlPlane,
  startMailInbox,
  type TestDatabase,
  uniqueEmail,
} from "../../../testing/harness.js";

const PASSWORD = "correct horse battery";
const NEW_PASSWORD = "a brand new passphrase";

/** The reset link in the newest mail to `email`, once it has come. */
async function resetLinkFor(inbox: MailInbox, email: string, count = 1): Promise<string> {
  await expect.poll(() => inbox.to(email).length).toBe(count);
  const mail = inbox.to(email).at(-1)!;
  expect(mail.subject).toBe("Reset your Relaybase password");
  const link = /(http\S+\/reset-password\/(pwr_[A-Za-z0-9]+))/.exec(mail.text);
  expect(link, mail.text).not.toBeNull();
  return link![1]!;
}
const tokenOf = (link: string) => link.split("/").at(-1)!;

describe.each(DB_MODES)("password reset and invite mail over SMTP (%s)", (mode) => {
  let database: TestDatabase;
  let cp: RunningControlPlane;
  let inbox: MailInbox;

  beforeAll(async () => {
    inbox = await startMailInbox();
    database = await createTestDatabase(mode);
    cp = await startControlPlane(database, {
      SMTP_URL: inbox.url,
      MAIL_FROM: "Relaybase test <no-reply@relaybase.test>",
      PUBLIC_URL: "https://console.relaybase.test",
      PASSWORD_RESETS_PER_HOUR: "3",
    });
  });
  afterAll(async () => {
    await cp?.close();
    await database?.drop();
    await inbox?.close();
  });

  it("mails a link on PUBLIC_URL; the link sets a new password once and ends every old session", async () => {
    const email = uniqueEmail("reset");
    const laptop = consoleClient(cp.url);
    await laptop.client.auth.signup.mutate({ email, password: PASSWORD });
    const phone = consoleClient(cp.url);
    await phone.client.auth.login.mutate({ email, password: PASSWORD });

    const stranger = consoleClient(cp.url);
    expect(await stranger.client.auth.requestPasswordReset.mutate({ email })).toEqual({
      ok: true,
      mailed: true,
    });
    const link = await resetLinkFor(inbox, email);
    // The link's host is PUBLIC_URL's, whatever Host the request came with.
    expect(link.startsWith("https://console.relaybase.test/reset-password/pwr_")).toBe(true);
    expect(inbox.to(email)[0]!.from).toContain("no-reply@relaybase.test");

    const me = await stranger.client.auth.resetPassword.mutate({
      token: tokenOf(link),
      password: NEW_PASSWORD,
    });
    expect(me.user.email).toBe(email);
    // The browser that reset is signed in; the sessions from before are gone.
    expect((await stranger.client.auth.me.query()).user.email).toBe(email);
    expect(await relaybaseCodeOf(laptop.client.auth.me.query())).toBe("UNAUTHENTICATED");
    expect(await relaybaseCodeOf(phone.client.auth.me.query())).toBe("UNAUTHENTICATED");
    // The old password no longer works, the new one does.
    expect(
      await relaybaseCodeOf(consoleClient(cp.url).client.auth.login.mutate({ email, password: PASSWORD })),
    ).toBe("INVALID_CREDENTIALS");
    await expect(
      consoleClient(cp.url).client.auth.login.mutate({ email, password: NEW_PASSWORD }),
    ).resolves.toBeTruthy();
    // Used once: the same link again is refused, and no password changes.
    expect(
      await relaybaseCodeOf(
        consoleClient(cp.url).client.auth.resetPassword.mutate({
          token: tokenOf(link),
          password: "another one entirely",
        }),
      ),
    ).toBe("NOT_FOUND");
    await expect(
      consoleClient(cp.url).client.auth.login.mutate({ email, password: NEW_PASSWORD }),
    ).resolves.toBeTruthy();
  });

  it("answers the same for an unknown email and sends nothing; a newer link withdraws the older; bad links are refused", async () => {
    const nobody = uniqueEmail("nobody");
    expect(await consoleClient(cp.url).client.auth.requestPasswordReset.mutate({ email: nobody })).toEqual({
      ok: true,
      mailed: true,
    });

    const email = uniqueEmail("twice");
    await consoleClient(cp.url).client.auth.signup.mutate({ email, password: PASSWORD });
    const client = consoleClient(cp.url).client;
    await client.auth.requestPasswordReset.mutate({ email: email.toUpperCase() });
    const first = await resetLinkFor(inbox, email, 1);
    await client.auth.requestPasswordReset.mutate({ email });
    const second = await resetLinkFor(inbox, email, 2);
    expect(tokenOf(second)).not.toBe(tokenOf(first));
    expect(
      await relaybaseCodeOf(
        client.auth.resetPassword.mutate({ token: tokenOf(first), password: NEW_PASSWORD }),
      ),
    ).toBe("NOT_FOUND");
    // A made-up token and a malformed one; a password that is too short is refused before the link is used.
    expect(
      await relaybaseCodeOf(
        client.auth.resetPassword.mutate({ token: "pwr_madeup123", password: NEW_PASSWORD }),
      ),
    ).toBe("NOT_FOUND");
    expect(
      await relaybaseCodeOf(client.auth.resetPassword.mutate({ token: "inv_abc", password: NEW_PASSWORD })),
    ).toBe("BAD_REQUEST");
    expect(
      await relaybaseCodeOf(client.auth.resetPassword.mutate({ token: tokenOf(second), password: "short" })),
    ).toBe("BAD_REQUEST");
    await expect(
      client.auth.resetPassword.mutate({ token: tokenOf(second), password: NEW_PASSWORD }),
    ).resolves.toBeTruthy();
    // Nothing ever went to the unknown address.
    expect(inbox.to(nobody)).toEqual([]);
  });

  it("limits reset requests per email (PASSWORD_RESETS_PER_HOUR), whether or not the account exists", async () => {
    const email = uniqueEmail("flood");
    const client = consoleClient(cp.url).client;
    for (let i = 0; i < 3; i++) await client.auth.requestPasswordReset.mutate({ email });
    expect(await relaybaseCodeOf(client.auth.requestPasswordReset.mutate({ email }))).toBe("RATE_LIMITED");
  });

  it("mails a team invite to the invited address, with the same link the owner sees", async () => {
    const owner = consoleClient(cp.url).client;
    await owner.auth.signup.mutate({ email: uniqueEmail("owner"), password: PASSWORD, name: "Ada" });
    const invitee = uniqueEmail("invitee");
    const made = await owner.team.invite.mutate({ email: invitee });
    expect(made.emailed).toBe(true);
    await expect.poll(() => inbox.to(invitee).length).toBe(1);
    const mail = inbox.to(invitee)[0]!;
    expect(mail.subject).toBe("Ada invited you to Ada's org on Relaybase");
    expect(mail.text).toContain(`https://console.relaybase.test${made.path}`);
  });
});

describe("without SMTP_URL", () => {
  let database: TestDatabase;
  let cp: RunningControlPlane;

  beforeAll(async () => {
    database = await createTestDatabase("pglite");
    cp = await startControlPlane(database);
  });
  afterAll(async () => {
    await cp?.close();
    await database?.drop();
  });

  it("says no mail is sent (the console then tells the user to ask the operator), and invites are not emailed", async () => {
    const owner = consoleClient(cp.url).client;
    const email = uniqueEmail("nomail");
    await owner.auth.signup.mutate({ email, password: PASSWORD });
    expect(await consoleClient(cp.url).client.auth.requestPasswordReset.mutate({ email })).toEqual({
      ok: true,
      mailed: false,
    });
    expect((await owner.team.invite.mutate({ email: uniqueEmail("invitee") })).emailed).toBe(false);
  });
});
