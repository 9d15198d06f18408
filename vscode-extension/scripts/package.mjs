// Packages the extension as a .vsix with @vscode/vsce, after building it.
//
// Usage: node scripts/package.mjs [--server PATH --target TARGET]
//
// Without options the package contains no server binary, and the extension
// finds `concur` through the concur.server.path setting or PATH. With
// --server, the binary at PATH is copied into the package as server/concur
// (server/concur.exe for a win32 target), and the package is marked for
// the VS Code platform TARGET, such as linux-x64, because the binary runs
// only there.

import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: { server: { type: "string" }, target: { type: "string" } },
});
if ((values.server === undefined) !== (values.target === undefined)) {
  console.error("error: --server and --target go together, such as --server ../target/release/concur --target linux-x64");
  process.exit(2);
}

execFileSync(process.execPath, [join(root, "scripts/build.mjs")], { stdio: "inherit" });

const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const serverDir = join(root, "server");
rmSync(serverDir, { recursive: true, force: true });
const vsceArgs = ["package", "--no-dependencies", "--allow-missing-repository"];
let output = join(root, `concur-${version}.vsix`);
if (values.server !== undefined) {
  const name = values.target.startsWith("win32-") ? "concur.exe" : "concur";
  mkdirSync(serverDir);
  copyFileSync(resolve(values.server), join(serverDir, name));
  chmodSync(join(serverDir, name), 0o755);
  output = join(root, `concur-${values.target}-${version}.vsix`);
  vsceArgs.push("--target", values.target);
}
vsceArgs.push("--out", output);
try {
  execFileSync(process.execPath, [join(root, "node_modules/@vscode/vsce/vsce"), ...vsceArgs], {
    cwd: root,
    stdio: "inherit",
  });
} finally {
  rmSync(serverDir, { recursive: true, force: true });
}
console.log(`packaged ${output}`);
