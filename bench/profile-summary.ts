/**
 * `node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top 25]`: where a
 * `node --cpu-prof` profile's time went, as markdown: self time by package (npm package,
 * our workspace package, Node's internals, GC) and the top functions by self time.
 * Idle time is left out of the shares: they are shares of busy time.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "./lib/rig.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The package a script belongs to: `node_modules/<pkg>`, our workspace folder, or Node itself. */
export function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:")) return "node (internals)";
  const path = decodeURIComponent(url.replace(/^file:\/\//, ""));
  const nm = path.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = path.slice(nm + "/node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const ours = /\/(packages|services|sdk|all-in-one|bench|tests)\/([^/]+)?/.exec(path);
  if (ours) return ours[1] === "packages" || ours[1] === "services" ? `${ours[1]}/${ours[2]}` : ours[1]!;
  return path;
}

export function summarizeProfile(profile: Profile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (const [i, id] of profile.samples.entries())
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const pkg = new Map<string, number>();
  const fn = new Map<string, { pkg: string; us: number }>();
  let busy = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const name = n.callFrame.functionName || "(anonymous)";
    if (name === "(idle)") continue;
    busy += us;
    const p = packageOf(n.callFrame.url, name);
    pkg.set(p, (pkg.get(p) ?? 0) + us);
    const file = n.callFrame.url.split("/").pop() ?? "";
    const key = `${name} ${file}:${n.callFrame.lineNumber + 1}`;
    const f = fn.get(key) ?? { pkg: p, us: 0 };
    f.us += us;
    fn.set(key, f);
  }
  return {
    busyMs: busy / 1000,
    packages: [...pkg].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, share: us / busy })),
    functions: [...fn]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([name, f]) => ({ name, pkg: f.pkg, share: f.us / busy })),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs(process.argv.slice(2));
  const file = process.argv.slice(2).find((a) => a.endsWith(".cpuprofile"));
  if (!file) throw new Error("usage: profile-summary.ts FILE.cpuprofile [--top N]");
  const s = summarizeProfile(JSON.parse(readFileSync(file, "utf8")), Number(args.top ?? 25));
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  console.log(`Busy time ${Math.round(s.busyMs)} ms.\n\n| package | share of busy time |\n|---|---:|`);
  for (const p of s.packages.filter((p) => p.share >= 0.005)) console.log(`| ${p.name} | ${pct(p.share)} |`);
  console.log("\n| function (self time) | package | share |\n|---|---|---:|");
  for (const f of s.functions) console.log(`| \`${f.name}\` | ${f.pkg} | ${pct(f.share)} |`);
}
