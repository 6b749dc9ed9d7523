/**
 * `npm run screenshots`: runs the console's browser tests (which photograph every page at
 * 1280 and 375 px into tests/console/screenshots, git-ignored) and copies the two the
 * README shows into docs/images.
 */
import { spawnSync } from "node:child_process";
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("..", import.meta.url));
const shots = join(repo, "tests/console/screenshots");
const images = join(repo, "docs/images");

const run = spawnSync("npx", ["vitest", "run", "tests/console"], { cwd: repo, stdio: "inherit" });
if (run.status !== 0) process.exit(run.status ?? 1);

const README_IMAGES: [from: string, to: string][] = [
  ["onboarding-done-1280.png", "console-get-started.png"],
  ["usage-1280.png", "console-usage.png"],
];
await mkdir(images, { recursive: true });
for (const [from, to] of README_IMAGES) {
  await copyFile(join(shots, from), join(images, to));
  console.log(`docs/images/${to} ← tests/console/screenshots/${from}`);
}
