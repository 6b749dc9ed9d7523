/**
 * Password reset in a real browser against the embedded platform, with a real SMTP server
 * standing in for the mail provider (SMTP_URL): "Forgot your password?" on the login page,
 * the mail's link, a new password, signed in; the old password no longer works.
 * Screenshots: tests/console/screenshots/password-reset-*.png (git-ignored).
 */
import { ensureConsoleBuilt } from "@relaybase/all-in-one";
import { type MailInbox, startMailInbox, uniqueEmail } from "@relaybase/control-plane/testing";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../e2e/fixtures.js";
import { haveChromium, launchChromium, newContext, shoot } from "./browser.js";

let p: TestPlatform;
let browser: Browser;
let page: Page;
let inbox: MailInbox;

describe.skipIf(!haveChromium)("password reset in Chromium", () => {
  beforeAll(async () => {
    await ensureConsoleBuilt();
    inbox = await startMailInbox();
    p = await startTestPlatform({ SMTP_URL: inbox.url });
    browser = await launchChromium();
    page = await (await newContext(browser, p.urls.controlPlane)).newPage();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await p?.close();
    await inbox?.close();
  });

  it("mails a link from the login page; the link sets a new password and signs in", async () => {
    const email = uniqueEmail("browser-reset");
    const old = "the old passphrase";
    const signup = await fetch(`${p.urls.controlPlane}/trpc/auth.signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: old }),
    });
    expect(signup.status).toBe(200);

    await page.goto(`${p.urls.controlPlane}/login`);
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Send me a reset link" }).click();
    await expect
      .poll(() => page.getByRole("status").textContent())
      .toContain(`If there is an account for ${email}, we have sent it a link`);
    await shoot(page, "password-reset-requested");

    await expect.poll(() => inbox.to(email).length).toBe(1);
    const token = /\/reset-password\/(pwr_[A-Za-z0-9]+)/.exec(inbox.to(email)[0]!.text)?.[1];
    expect(token).toBeTruthy();
    // In tests the platform listens on port 0, so the mailed host is not the one it got; the path is what counts.
    await page.goto(`${p.urls.controlPlane}/reset-password/${token}`);
    await page.getByLabel("New password").fill("a fresh passphrase");
    await page.getByRole("button", { name: "Set new password" }).click();
    await page.waitForURL(/\/apps$/);
    await shoot(page, "password-reset-done");

    const login = (password: string) =>
      fetch(`${p.urls.controlPlane}/trpc/auth.login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password }),
      });
    expect((await login(old)).status).toBe(401);
    expect((await login("a fresh passphrase")).status).toBe(200);

    // The link worked once: opened again, it says so and offers a new one.
    await page.goto(`${p.urls.controlPlane}/reset-password/${token}`);
    await page.getByLabel("New password").fill("yet another passphrase");
    await page.getByRole("button", { name: "Set new password" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("This link was used");
  });
});
