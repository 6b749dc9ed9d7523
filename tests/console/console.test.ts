/**
 * The console in a real browser against the real platform (the all-in-one `npm start`
 * runs, on port 0 with a fresh PGlite): a newcomer's first walk from the printed URL to a
 * message delivered and counted, and key revocation as an SDK client and a server see it.
 * Each page is photographed at 1280 and 375 px (tests/console/screenshots, git-ignored).
 */
import { ensureConsoleBuilt } from "@relaybase/all-in-one";
import type { RelaybaseClient } from "@relaybase/sdk";
import { createServerClient } from "@relaybase/sdk/server";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../e2e/fixtures.js";
import { haveChromium, launchChromium, newContext, shoot } from "./browser.js";

let p: TestPlatform;
let browser: Browser;
let context: BrowserContext;
let page: Page;

/** What the walk learns that later tests use. */
const walk = { appId: "", publishableKey: "", secret: "" };

describe.skipIf(!haveChromium)("the console in Chromium", () => {
  beforeAll(async () => {
    await ensureConsoleBuilt();
    p = await startTestPlatform({ USAGE_FLUSH_MS: "200", USAGE_ROLLUP_MS: "300" });
    browser = await launchChromium();
    context = await newContext(browser, p.urls.controlPlane);
    page = await context.newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await p?.close();
  });

  it("walks a newcomer from the printed URL to a first message, delivered and counted", async () => {
    // The URL `npm start` prints opens the console, which asks a stranger to log in.
    await page.goto(p.urls.controlPlane);
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    await shoot(page, "login");

    await page.getByRole("link", { name: "Create an account" }).click();
    await page.getByRole("heading", { name: "Create your account" }).waitFor();
    // A fresh database per run: a fixed, readable account for the screenshots.
    await page.getByLabel("Name (optional)").fill("Ada");
    await page.getByLabel("Email").fill("ada@example.com");
    await page.getByLabel("Password").fill("short");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/too short/);
    await shoot(page, "signup");
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Create account" }).click();

    // A new account lands on the checklist; each step ticks from what really happens.
    await page.getByRole("heading", { name: "Get started" }).waitFor();
    await shoot(page, "onboarding-new");
    await page.getByLabel("App name").fill("Chat");
    await page.getByRole("button", { name: "Create app" }).click();
    await page.getByRole("listitem", { name: "Step 1: Create an app (done)" }).waitFor();
    await page.getByRole("button", { name: /^Copy: pk_/ }).click();
    await page.getByRole("listitem", { name: "Step 2: Copy your keys (done)" }).waitFor();
    await page.getByText("Listening on getting-started…").waitFor();
    await page.getByRole("button", { name: "Send a test event" }).click();
    await page.getByRole("listitem", { name: "Step 3: Send a test event (done)" }).waitFor();
    await page.getByRole("listitem", { name: "Step 4: See it arrive (done)" }).waitFor();
    await expect
      .poll(() => page.getByRole("list", { name: "Messages received" }).textContent())
      .toContain("Hello from the Relaybase console");
    await shoot(page, "onboarding-done");

    // Apps → the app → Keys: a secret key, shown once, copied with the button.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Apps" }).click();
    await page.getByRole("heading", { name: "Apps" }).waitFor();
    await shoot(page, "apps");
    await page.getByRole("link", { name: "Chat" }).click();
    await page.getByRole("heading", { name: /Chat/ }).waitFor();
    walk.appId = new URL(page.url()).pathname.split("/")[2]!;
    walk.publishableKey = (await page.locator("table.keys code").first().textContent())!;
    expect(walk.publishableKey).toMatch(/^pk_/);
    await page.getByLabel("Key name").fill("walk server");
    await page.getByRole("button", { name: "Create key" }).click();
    const shown = page.getByRole("region", { name: "New secret key" });
    await shown.getByText("shown this once").waitFor();
    await shown.getByRole("button", { name: /^Copy: sk_/ }).click();
    await shown.getByText("Copied").waitFor();
    walk.secret = await page.evaluate(() => navigator.clipboard.readText());
    expect(walk.secret).toMatch(/^sk_/);
    // The list shows secrets by prefix only.
    await expect
      .poll(() => page.locator("table.keys").textContent())
      .toContain(`${walk.secret.split("_").slice(0, 2).join("_")}_…`);
    expect(await page.locator("table.keys").textContent()).not.toContain(walk.secret);
    await shoot(page, "keys");

    // The quickstart is filled in with this app's key and this platform's addresses.
    await page.getByRole("link", { name: "Quickstart" }).click();
    const snippets = page.locator("figure.code");
    await expect.poll(() => snippets.allTextContents()).toHaveLength(3);
    const text = (await snippets.allTextContents()).join("\n");
    expect(text).toContain(walk.publishableKey);
    expect(text).toContain(p.urls.realtime);
    expect(text).toContain(`${p.urls.rest}/v1/apps/${walk.appId}/publish`);
    await shoot(page, "quickstart");

    // A separate SDK client (Node) subscribes; the copied secret publishes over REST.
    const server = createServerClient({
      appId: walk.appId,
      secretKey: walk.secret,
      restUrl: p.urls.rest,
      controlPlaneUrl: p.urls.controlPlane,
    });
    const client = p.client({
      key: walk.publishableKey,
      getToken: async () =>
        (await server.createToken({ userId: "reader", capabilities: { "chat:*": ["subscribe"] } })).token,
    });
    const got: unknown[] = [];
    const room = client.room("chat:lobby");
    room.on("greeting", (data) => got.push(data));
    await room.subscribe();
    const res = await fetch(`${p.urls.rest}/v1/apps/${walk.appId}/publish`, {
      method: "POST",
      headers: { authorization: `Bearer ${walk.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ room: "chat:lobby", event: "greeting", data: { text: "hello from REST" } }),
    });
    expect(res.status).toBe(202);
    await expect.poll(() => got).toEqual([{ text: "hello from REST" }]);

    // Usage counts both publishes (the console's test event and REST) once flushed.
    await page.getByRole("link", { name: "Usage" }).click();
    await expect.poll(() => page.getByTestId("published-today").textContent(), { timeout: 20_000 }).toBe("2");
    await expect.poll(() => page.getByTestId("delivered-today").textContent(), { timeout: 20_000 }).toBe("2");
    await page.locator(".uplot").first().waitFor();
    await shoot(page, "usage");

    await page.getByRole("link", { name: "Settings" }).click();
    await page.getByRole("heading", { name: "Limits in force" }).waitFor();
    await page.getByText("Concurrent connections").waitFor();
    await shoot(page, "settings");

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Billing" }).click();
    await page.getByText("Billing is off on this server").waitFor();
    await shoot(page, "billing");

    // Dark follows the system setting.
    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto(`${p.urls.controlPlane}/apps/${walk.appId}/usage`);
    await page.locator(".uplot").first().waitFor();
    expect(await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor)).toBe(
      "rgb(15, 17, 21)",
    );
    await shoot(page, "usage-dark");
    await page.emulateMedia({ colorScheme: "light" });
  });

  it("debug tab: the event creator publishes from the browser; the watch shows it and REST; an SDK client receives it", async () => {
    expect(walk.appId, "runs after the walk").not.toBe("");
    await page.goto(`${p.urls.controlPlane}/apps/${walk.appId}/debug`);
    await page.getByText("Connection: connected").waitFor();
    // The live tail has its own connection, with a debug token.
    await page.getByTestId("tail-state").getByText("watching").waitFor();
    const tail = page.getByRole("table", { name: "Live tail events" });
    // Somebody's app: an anonymous client (the default anonymous capabilities allow public:*).
    const reader = p.client({ key: walk.publishableKey });
    const got: unknown[] = [];
    const room = reader.room("public:demo");
    room.on("note", (data) => got.push(data));
    await room.subscribe();
    // The tail saw it connect and subscribe.
    const readerId = reader.connectionId!.slice(0, 8);
    await tail.locator("tr", { hasText: "connect" }).filter({ hasText: readerId }).first().waitFor();
    await tail.locator("tr", { hasText: "subscribe" }).filter({ hasText: "public:demo" }).first().waitFor();

    const creator = page.getByRole("form", { name: "Event creator" });
    await creator.getByLabel("Room").fill("public:demo");
    await creator.getByLabel("Event").fill("note");
    await creator.getByLabel("Data (JSON)").fill("{ nope");
    await creator.getByText("Not JSON").waitFor();
    await creator.getByLabel("Data (JSON)").fill('{ "text": "from the event creator" }');
    await creator.getByRole("button", { name: "Publish" }).click();
    await creator.getByText("Published to public:demo at offset 1.").waitFor();
    await expect.poll(() => got).toEqual([{ text: "from the event creator" }]);
    // The event creator's publish is in the live tail: room, event, offset, size, preview.
    const published = tail.locator("tr", { hasText: '{"text":"from the event creator"}' });
    await published.waitFor();
    expect(await published.textContent()).toMatch(/publishpublic:democonsole:usr_.*note #1/);

    // Publishing watched the room; a server's REST publish shows up too.
    await page.getByRole("list", { name: "Watched rooms" }).getByText("public:demo").waitFor();
    const res = await fetch(`${p.urls.rest}/v1/apps/${walk.appId}/publish`, {
      method: "POST",
      headers: { authorization: `Bearer ${walk.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ room: "public:demo", event: "note", data: { text: "from a server" } }),
    });
    expect(res.status).toBe(202);
    const log = page.getByRole("table", { name: "Messages" });
    await log.getByText('{"text":"from a server"}').waitFor();
    const rows = await log.locator("tbody tr").allTextContents();
    expect(rows[0]).toMatch(/public:demo#2note.*REST/);
    expect(rows[1]).toMatch(/public:demo#1noteconsole:usr_/);
    await tail.locator("tr", { hasText: '{"text":"from a server"}' }).filter({ hasText: "REST" }).waitFor();
    // A refusal, with its code: the anonymous reader may not publish.
    await expect(room.publish("note", {})).rejects.toMatchObject({ code: "CAPABILITY_DENIED" });
    await page.getByLabel("Kind").selectOption("refused");
    await tail.locator("tr", { hasText: "publish → CAPABILITY_DENIED" }).waitFor();
    await expect.poll(() => tail.locator("tbody tr").count()).toBe(1);
    await shoot(page, "debug-refused");
    await page.getByLabel("Kind").selectOption("");
    await shoot(page, "debug");
    // The tail pauses on its own: what arrives meanwhile is held and counted.
    await page.getByRole("button", { name: "Pause tail" }).click();
    reader.close();
    // At least the disconnect (a slow machine may also hold a late event of before).
    await page.getByRole("button", { name: /^Resume tail \(\d+ new\)$/ }).click();
    await tail.locator("tr", { hasText: "disconnect" }).filter({ hasText: readerId }).waitFor();

    // Filters and pause.
    await page.getByLabel("Event contains").fill("nothing-like-this");
    await page.getByText("Nothing yet.").waitFor();
    await page.getByLabel("Event contains").fill("");
    await page.getByRole("button", { name: "Pause", exact: true }).click();
    await creator.getByRole("button", { name: "Publish" }).click();
    await page.getByRole("button", { name: "Resume (1 new)" }).click();
    await expect.poll(() => log.locator("tbody tr").count()).toBe(3);

    // The room inspector: the occupied room, its subscribers now, offsets and history.
    const inspector = page.getByRole("region", { name: "Room inspector" });
    await inspector
      .getByRole("list", { name: "Occupied rooms" })
      .getByRole("button", { name: "public:demo" })
      .click();
    await expect.poll(() => inspector.getByTestId("room-offset").textContent()).toBe("3");
    // The console's own watch is subscribed; the reader left.
    await expect.poll(() => inspector.getByTestId("room-subscribers").textContent()).toBe("1");
    const history = inspector.getByRole("table", { name: "Room history" });
    await expect
      .poll(() => history.locator("tbody tr td:first-child").allTextContents())
      .toEqual(["#3", "#2", "#1"]);
    expect(await history.textContent()).toContain('{"text":"from a server"}');
    await inspector.scrollIntoViewIfNeeded();
    await shoot(page, "debug-inspector");
  });

  it("revoking keys in the console: the SDK client is refused on its next connection, REST gets INVALID_KEY", async () => {
    expect(walk.appId, "runs after the walk").not.toBe("");
    await page.goto(`${p.urls.controlPlane}/apps/${walk.appId}/keys`);
    // A second publishable key, for a web client that will lose it.
    await page.getByLabel("Kind").selectOption("publishable");
    await page.getByLabel("Key name").fill("old web");
    await page.getByRole("button", { name: "Create key" }).click();
    const row = page.locator("table.keys tr", { hasText: "old web" });
    const oldKey = (await row.locator("code").first().textContent())!;
    expect(oldKey).toMatch(/^pk_/);

    const anonymous = (key: string) => p.client({ key });
    const before = anonymous(oldKey);
    await before.room("public:news").subscribe();
    expect(before.state).toBe("connected");

    await row.getByRole("button", { name: "Revoke…" }).click();
    const dialog = page.getByRole("dialog", { name: /Revoke “old web”/ });
    await dialog.getByRole("button", { name: "Revoke key" }).click();
    await dialog.waitFor({ state: "hidden" });
    await expect.poll(() => page.locator("table.keys").textContent()).not.toContain("old web");

    const after: RelaybaseClient = anonymous(oldKey);
    await expect.poll(() => after.state).toBe("failed");
    expect(after.error?.code).toBe("INVALID_KEY");
    // The app's other key still works.
    const still = anonymous(walk.publishableKey);
    await still.room("public:news").subscribe();

    // The secret key from the walk, revoked in the console, no longer publishes.
    const secretRow = page.locator("table.keys tr", { hasText: "walk server" });
    await secretRow.getByRole("button", { name: "Revoke…" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke key" }).click();
    await expect.poll(() => page.locator("table.keys").textContent()).not.toContain("walk server");
    await shoot(page, "keys-revoked");
    const res = await fetch(`${p.urls.rest}/v1/apps/${walk.appId}/publish`, {
      method: "POST",
      headers: { authorization: `Bearer ${walk.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ room: "chat:lobby", event: "greeting", data: {} }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("INVALID_KEY");
  });

  it("an owner invites by link; the invitee signs up through it and sees the org's apps", async () => {
    expect(walk.appId, "runs after the walk").not.toBe("");
    await page.goto(`${p.urls.controlPlane}/team`);
    await page.getByRole("heading", { name: "Team" }).waitFor();
    const email = `teammate-${Date.now()}@example.com`;
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Create invite link" }).click();
    const link = page.getByRole("region", { name: "Invite link" });
    const url = (await link.locator("code").textContent())!;
    expect(url).toMatch(new RegExp(`^${p.urls.controlPlane}/invite/inv_`));
    await page.getByRole("list", { name: "Open invites" }).getByText(email).waitFor();
    await shoot(page, "team");

    const theirs = await newContext(browser, p.urls.controlPlane);
    const invitee = await theirs.newPage();
    await invitee.goto(url);
    await invitee.getByRole("heading", { name: "Log in" }).waitFor();
    await invitee.getByRole("link", { name: "Create an account" }).click();
    await invitee.getByLabel("Email").fill(email);
    await invitee.getByLabel("Password").fill("teammate password");
    await invitee.getByRole("button", { name: "Create account" }).click();
    await invitee.getByRole("heading", { name: "Join a team" }).waitFor();
    await invitee.getByRole("button", { name: "Join the team" }).click();
    await invitee.getByRole("heading", { name: "Apps" }).waitFor();
    await invitee.getByRole("link", { name: "Chat" }).waitFor();

    // The owner sees them in the team; the invite is used up.
    await page.reload();
    await page.getByRole("table", { name: "Members" }).getByText(email).waitFor();
    await page.getByText("None.").waitFor();
    await theirs.close();
  });

  it("says what went wrong: taken email, wrong password, and logs out", async () => {
    const fresh = await newContext(browser, p.urls.controlPlane);
    const other = await fresh.newPage();
    const email = `twice-${Date.now()}@example.com`;
    await other.goto(`${p.urls.controlPlane}/signup`);
    await other.getByLabel("Email").fill(email);
    await other.getByLabel("Password").fill("a good long password");
    await other.getByRole("button", { name: "Create account" }).click();
    await other.getByRole("heading", { name: "Get started" }).waitFor();
    await other.getByRole("button", { name: "Log out" }).click();
    await other.getByRole("heading", { name: "Log in" }).waitFor();
    // Logged out means logged out: the console sends a direct link back to the login page.
    await other.goto(`${p.urls.controlPlane}/apps`);
    await other.getByRole("heading", { name: "Log in" }).waitFor();

    await other.getByRole("link", { name: "Create an account" }).click();
    await other.getByLabel("Email").fill(email);
    await other.getByLabel("Password").fill("another long password");
    await other.getByRole("button", { name: "Create account" }).click();
    await expect.poll(() => other.getByRole("alert").textContent()).toContain("already exists");

    await other.getByRole("link", { name: "Log in instead" }).click();
    await other.getByLabel("Email").fill(email);
    await other.getByLabel("Password").fill("not the password");
    await other.getByRole("button", { name: "Log in" }).click();
    await expect.poll(() => other.getByRole("alert").textContent()).toBe("Wrong email or password.");
    await shoot(other, "login-error");

    await other.getByLabel("Password").fill("a good long password");
    await other.getByRole("button", { name: "Log in" }).click();
    // After logging in, back to where the link pointed.
    await other.getByRole("heading", { name: "Apps" }).waitFor();

    // A session that ends elsewhere (expired, cleared) sends the page back to Log in.
    await fresh.clearCookies();
    await other.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Team" }).click();
    await other.getByRole("heading", { name: "Log in" }).waitFor();

    // Guessing is rate-limited, and the page says for how long (the limit is the server's).
    await other.getByLabel("Email").fill(`guessed-${Date.now()}@example.com`);
    await other.getByLabel("Password").fill("guess");
    const alert = other.getByRole("alert");
    let said = "";
    // Until the answer is no longer the wrong-password one (the limit is the server's to set).
    for (let attempt = 0; attempt < 50 && (said === "" || said === "Wrong email or password."); attempt++) {
      await other.getByRole("button", { name: "Log in" }).click();
      // Each answer replaces the alert; wait for this attempt's (the button is busy until then).
      await other.getByRole("button", { name: "Log in" }).waitFor();
      await expect.poll(() => other.getByRole("button", { name: "Log in" }).isEnabled()).toBe(true);
      said = (await alert.textContent()) ?? "";
    }
    expect(said).toMatch(/too many|try again/i);
    await shoot(other, "login-rate-limited");
    await fresh.close();
  });
});
