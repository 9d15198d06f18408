// Bundles the extension into dist/extension.js with esbuild, after a type
// check with tsc. With --tests it also bundles every test file into out/.
//
// Usage: node scripts/build.mjs [--tests]

import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const withTests = process.argv.includes("--tests");

execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", root], {
  stdio: "inherit",
});

await esbuild.build({
  entryPoints: [join(root, "src/extension.ts")],
  outfile: join(root, "dist/extension.js"),
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node18",
  // VS Code provides the `vscode` module to the extension host.
  external: ["vscode"],
  logLevel: "warning",
});

if (withTests) {
  const entryPoints = [];
  for (const folder of ["test/unit", "test/e2e"]) {
    for (const name of readdirSync(join(root, folder))) {
      if (name.endsWith(".test.ts")) {
        entryPoints.push(join(root, folder, name));
      }
    }
  }
  await esbuild.build({
    entryPoints,
    outdir: join(root, "out/test"),
    outbase: join(root, "test"),
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    // Tests load playwright-core and the like from node_modules at run time.
    packages: "external",
    logLevel: "warning",
  });
}
