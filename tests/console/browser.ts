/**
 * Browser fixtures for the console tests: Debian's Chromium (`apt-get install chromium`,
 * which .ci/run does) driven by playwright-core, and a screenshot helper that shoots each
 * page at a desktop and a phone width.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.RB_CHROMIUM ?? "/usr/bin/chromium";

/**
 * Without Chromium the browser tests cannot run. In CI that is a failure (.ci/run installs
 * it); on a developer's machine without it they are skipped with a note.
 */
export const haveChromium = existsSync(CHROMIUM) || process.env.CI === "true";
if (!haveChromium)
  console.warn(`console browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

/** Flags for a sandbox with no network but loopback: no background traffic, no GPU. */
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run",
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}

/** A fresh browser profile (own cookies) that may use the clipboard on `origin`. */
export async function newContext(browser: Browser, origin: string): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: "light" });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
  // Fail a wait well inside the test's own timeout, naming what did not appear.
  context.setDefaultTimeout(15_000);
  return context;
}

/** Git-ignored; `npm run screenshots` copies two of them into docs/images for the README. */
export const SCREENSHOT_DIR =
  process.env.RB_SCREENSHOT_DIR ?? fileURLToPath(new URL("./screenshots", import.meta.url));

export const WIDTHS = [1280, 375] as const;

/** Full-page screenshots of what the page shows now, at each width, as `<name>-<width>.png`. */
export async function shoot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const original = page.viewportSize() ?? { width: 1280, height: 800 };
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: width === 375 ? 812 : 800 });
    // Layout (and the charts' ResizeObserver) settles on the next frames.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize(original);
}
