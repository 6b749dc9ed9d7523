// `node --import tsx docker/build.ts [service…]`: compiles each service's entry point to one ES module under <workspace>/dist/bin/, for
// the container images (Dockerfile) and the chart's pod simulation test.
//
// Only our own code is bundled: every `@relaybase/*` workspace package is inlined (they
// export TypeScript sources, which plain `node` cannot load), and every other package
// stays an import resolved from node_modules at run time (installed in the image by
// `npm ci --omit=dev`), so native and WASM packages (@node-rs/argon2, PGlite) load
// their files as they expect. No tsx, esbuild or TypeScript is needed at run time.
//
// `import.meta.url` in our sources keeps meaning the source file's own location: the
// control plane finds its migrations at `new URL("../../drizzle", import.meta.url)`,
// so the image keeps services/control-plane/drizzle where the repository has it.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** service name (the Dockerfile target) → entry points, each `[source, bundle]`. */
export const entries: Record<string, [source: string, bundle: string][]> = {
  "realtime-node": [["services/realtime-node/src/main.ts", "services/realtime-node/dist/bin/main.js"]],
  "control-plane": [
    ["services/control-plane/src/main.ts", "services/control-plane/dist/bin/main.js"],
    ["docker/migrate.ts", "services/control-plane/dist/bin/migrate.js"],
  ],
  "rest-publish-api": [
    ["services/rest-publish-api/src/main.ts", "services/rest-publish-api/dist/bin/main.js"],
  ],
  "all-in-one": [["all-in-one/src/main.ts", "all-in-one/dist/bin/main.js"]],
};

/** Keeps third-party packages external; lets esbuild inline our workspace packages. */
const externalPackages: Plugin = {
  name: "external-packages",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("@relaybase/")) return undefined;
      return { path: args.path, external: true };
    });
  },
};

/** Rewrites `import.meta.url` in our sources to the URL of the source file as the bundle sees it. */
function keepModuleUrls(outfile: string): Plugin {
  return {
    name: "keep-module-urls",
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const text = await readFile(args.path, "utf8");
        if (!text.includes("import.meta.url")) return undefined;
        const fromBundle = relative(dirname(outfile), args.path).split(sep).join("/");
        const url = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
        return { contents: text.replaceAll("import.meta.url", url), loader: "ts" };
      });
    },
  };
}

const slashes = (path: string) => path.split(sep).join("/");

/** Builds the named services (default: all) and returns the bundles written, relative to the repository. */
export async function buildServices(names: string[] = Object.keys(entries)): Promise<string[]> {
  const written: string[] = [];
  for (const name of names) {
    const list = entries[name];
    if (!list) throw new Error(`unknown service ${name}; one of ${Object.keys(entries).join(", ")}`);
    for (const [source, bundle] of list) {
      const outfile = join(root, bundle);
      const result = await build({
        entryPoints: [join(root, source)],
        outfile,
        write: false,
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        sourcemap: true,
        metafile: true,
        absWorkingDir: root,
        logLevel: "warning",
        plugins: [externalPackages, keepModuleUrls(outfile)],
      });
      // What went into the bundle (our sources it inlined, and this script), so `npm start`
      // (all-in-one/start.mjs) can tell whether the bundle is older than its sources.
      const inputs = [
        ...Object.keys(result.metafile.inputs),
        slashes(relative(root, fileURLToPath(import.meta.url))),
      ];
      const files: [path: string, contents: Uint8Array][] = [
        ...result.outputFiles.map((f): [string, Uint8Array] => [f.path, f.contents]),
        [`${outfile}.inputs.json`, new TextEncoder().encode(`${JSON.stringify(inputs, null, 1)}\n`)],
      ];
      // Write beside, then rename: a process running the previous bundle (or a parallel
      // build) never sees half a file.
      for (const [path, contents] of files) {
        await mkdir(dirname(path), { recursive: true });
        const temporary = `${path}.${process.pid}.tmp`;
        await writeFile(temporary, contents);
        await rename(temporary, path);
      }
      written.push(bundle);
    }
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const names = process.argv.slice(2);
  const written = await buildServices(names.length > 0 ? names : undefined);
  for (const file of written) console.log(file);
}
