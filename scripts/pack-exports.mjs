// npm does not apply `publishConfig.exports` (pnpm does). So that a packed or published
// package points at its built `dist` while the workspace uses the TypeScript sources,
// `prepack` swaps `exports` for `publishConfig.exports` and `postpack` swaps them back.
import { readFileSync, writeFileSync } from "node:fs";

const file = "package.json";
const manifest = JSON.parse(readFileSync(file, "utf8"));
const { exports: current, publishConfig } = manifest;
manifest.exports = publishConfig.exports;
manifest.publishConfig = { ...publishConfig, exports: current };
writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
