/**
 * The console's Webhooks tab in a real browser against the embedded platform and a real
 * receiver: add an endpoint (secret shown once), send a test event that arrives signed with
 * that secret, see it in the delivery log, and replay a dead-lettered one.
 * Screenshots: tests/console/screenshots/webhooks-*.png (git-ignored).
 */
import { ensureConsoleBuilt } from "@relaybase/all-in-one";
import { startWebhookReceiver, uniqueEmail, type WebhookReceiver } from "@relaybase/control-plane/testing";
import { verifyWebhook } from "@relaybase/sdk/server";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../e2e/fixtures.js";

import { haveChromium, launchChromium, newContext, shoot } from "./browser.js";

let p: TestPlatform;
let browser: Browser;
let page: Page;
let receiver: WebhookReceiver;

describe.skipIf(!haveChromium)("the Webhooks tab in Chromium", () => {
  beforeAll(async () => {
    await ensureConsoleBuilt();
    p = await startTestPlatform({
      WEBHOOK_ALLOW_HTTP: "true",
      WEBHOOK_ALLOW_PRIVATE_URLS: "true",
      WEBHOOK_RETRY_SCHEDULE_MS: "50",
      WEBHOOK_POLL_MS: "50",
    });
    receiver = await startWebhookReceiver();
    browser = await launchChromium();
    page = await (await newContext(browser, p.urls.controlPlane)).newPage();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await p?.close();
  });

  it("adds an endpoint, sends a signed test event, shows the log and replays a dead letter", async () => {
    await page.goto(`${p.urls.controlPlane}/signup`);
    await page.getByLabel("Email").fill(uniqueEmail("hooks"));
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("heading", { name: "Get started" }).waitFor();
    // The app through the same API the page uses, with the page's session cookie.
    const appId = await page.evaluate(async () => {
      const res = await fetch("/trpc/apps.create", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "Hooks" }),
      });
      return ((await res.json()) as { result: { data: { app: { id: string } } } }).result.data.app.id;
    });

    await page.goto(`${p.urls.controlPlane}/apps/${appId}/hooks`);
    await page.getByRole("heading", { name: "Add an endpoint" }).waitFor();
    await page.getByLabel("URL").fill(receiver.url);
    await page.getByRole("button", { name: "Add endpoint" }).click();
    const panel = page.getByRole("region", { name: "Webhook signing secret" });
    await panel.waitFor();
    const secret = (await panel.locator(".copyable code").textContent())?.trim() ?? "";
    expect(secret).toMatch(/^whsec_/);

    await page.getByRole("button", { name: "Send test" }).click();
    await expect.poll(() => receiver.received.length).toBe(1);
    const got = receiver.received[0]!;
    const body = await verifyWebhook(
      { headers: got.headers as Record<string, string>, body: got.body },
      secret,
    );
    expect(body.events[0]).toMatchObject({ type: "webhook.test", appId });
    const row = page.locator("table.log tbody tr").first();
    await expect.poll(() => row.textContent(), { timeout: 20_000 }).toContain("delivered");

    // Failing receiver: the next test event runs out of its (shortened) schedule.
    receiver.respond = () => 500;
    await page.getByRole("button", { name: "Send test" }).click();
    await expect.poll(() => row.textContent(), { timeout: 20_000 }).toContain("dead");
    await shoot(page, "webhooks");
    receiver.respond = () => 200;
    await page.getByRole("button", { name: "Replay every dead-lettered delivery" }).click();
    await expect.poll(() => row.textContent(), { timeout: 20_000 }).toContain("delivered");
    expect(receiver.acceptedEventIds()).toHaveLength(2);
  }, 90_000);
});
