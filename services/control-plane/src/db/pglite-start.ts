import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { PGlite } from "@electric-sql/pglite";

/**
 * Starts PGlite on `dir` for as little resident memory as it can have (docs/benchmarks.md,
 * "Embedded process memory"):
 *
 * - An empty folder is initialised (initdb) in a short child process. PGlite runs initdb in
 *   a second WebAssembly instance and copies the result into the first; both memories,
 *   which never shrink, stayed in the process (~730 MiB RSS instead of ~200 after a
 *   restart). Opening the folder the child left behind costs what a restart costs.
 * - Its WebAssembly is compiled with Liftoff only, V8's baseline compiler: the optimising
 *   tier (TurboFan) re-compiles the hot part of Postgres' 9 MB module in the background and
 *   keeps both versions, ~45 MiB more, for no measurable gain on the control plane's small
 *   queries. The flag is process-wide, so it is set only while this module compiles and
 *   turned off again: V8 takes it when a module compiles (PGlite stays on Liftoff after it
 *   is off, measured), so WebAssembly compiled later (undici's HTTP parser, for fetch)
 *   keeps the usual tiers.
 */
export async function startPglite(dir: string, startParams: string[]): Promise<PGlite> {
  if (!existsSync(`${dir}/PG_VERSION`)) await initdbInChild(dir, startParams);
  setFlagsFromString("--liftoff-only");
  try {
    const client = new PGlite(dir, { startParams });
    await client.waitReady;
    return client;
  } finally {
    setFlagsFromString("--no-liftoff-only");
  }
}

/** Runs PGlite's initdb on `dir` in a child process, which takes its memory with it when it exits. */
function initdbInChild(dir: string, startParams: string[]): Promise<void> {
  // Plain JavaScript for plain node, whatever runs this process (tsx, a bundle, vitest).
  const script = `
    const { PGlite } = await import(${JSON.stringify(import.meta.resolve("@electric-sql/pglite"))});
    const client = new PGlite(${JSON.stringify(dir)}, { startParams: ${JSON.stringify(startParams)} });
    await client.waitReady;
    await client.close();`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--liftoff-only", "--input-type=module", "--eval", script],
      // Not NODE_OPTIONS' loaders (tsx, a debugger): the script needs none of them.
      { env: { ...process.env, NODE_OPTIONS: "" }, maxBuffer: 16 * 2 ** 20 },
      (err, _stdout, stderr) => {
        if (err) reject(new Error(`PGlite could not initialise ${dir}: ${stderr.trim() || err.message}`));
        else resolve();
      },
    );
  });
}
