import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";

import {
  checkExecutableFile,
  describeTried,
  expandSetting,
  notFoundMessage,
  resolveServer,
  ResolveInput,
  settingSkippedWarning,
} from "../../src/serverPath";

/** Builds a resolver input whose file checks accept only `executables`. */
function input(executables: string[], overrides: Partial<ResolveInput> = {}): ResolveInput {
  return {
    setting: "",
    extensionPath: "/ext",
    workspaceFolder: "/work/project",
    envPath: "/usr/local/bin:/usr/bin",
    homeDir: "/home/dev",
    platform: "linux",
    checkExecutable: (file) => (executables.includes(file) ? undefined : "missing"),
    ...overrides,
  };
}

describe("resolveServer", () => {
  it("prefers the setting over bundled and PATH", () => {
    const result = resolveServer(
      input(["/opt/concur", "/ext/server/concur", "/usr/bin/concur"], { setting: "/opt/concur" }),
    );
    assert.equal(result.found?.source, "setting");
    assert.equal(result.found?.path, "/opt/concur");
    assert.equal(result.tried.length, 1);
  });

  it("uses the bundled binary when the setting is empty", () => {
    const result = resolveServer(input(["/ext/server/concur", "/usr/bin/concur"]));
    assert.equal(result.found?.source, "bundled");
    assert.equal(result.found?.path, "/ext/server/concur");
    assert.deepEqual(
      result.tried.map((candidate) => candidate.source),
      ["setting", "bundled"],
    );
  });

  it("searches PATH in order after the bundled binary", () => {
    const result = resolveServer(input(["/usr/bin/concur", "/usr/local/bin/concur"]));
    assert.equal(result.found?.source, "path");
    assert.equal(result.found?.path, "/usr/local/bin/concur");
  });

  it("falls through a broken setting and warns", () => {
    const result = resolveServer(input(["/usr/bin/concur"], { setting: "/nowhere/concur" }));
    assert.equal(result.found?.path, "/usr/bin/concur");
    const warning = settingSkippedWarning(result);
    assert.ok(warning?.includes("/nowhere/concur"), warning);
    assert.ok(warning?.includes("missing"), warning);
    assert.ok(warning?.includes("/usr/bin/concur"), warning);
  });

  it("gives no warning when the setting is unset or used", () => {
    assert.equal(settingSkippedWarning(resolveServer(input(["/usr/bin/concur"]))), undefined);
    const used = resolveServer(input(["/opt/c"], { setting: "/opt/c" }));
    assert.equal(settingSkippedWarning(used), undefined);
  });

  it("lists every path tried when nothing is found", () => {
    const result = resolveServer(input([], { setting: "~/bin/concur" }));
    assert.equal(result.found, undefined);
    const message = notFoundMessage(result.tried);
    assert.ok(message.includes("/home/dev/bin/concur (missing)"), message);
    assert.ok(message.includes("/ext/server/concur (missing)"), message);
    assert.ok(message.includes("not found in /usr/local/bin:/usr/bin"), message);
    assert.ok(message.includes("cargo install --path server"), message);
  });

  it("says when the setting is unset and PATH is empty", () => {
    const result = resolveServer(input([], { envPath: "" }));
    const lines = describeTried(result.tried).split("\n");
    assert.equal(lines[0], "- concur.server.path setting: not set");
    assert.equal(lines[2], "- PATH: not found in (PATH is empty)");
  });

  it("tries PATHEXT names on Windows", () => {
    const result = resolveServer(
      input(["C:\\tools\\concur.exe"], {
        platform: "win32",
        extensionPath: "C:\\ext",
        envPath: "C:\\bin;C:\\tools",
        envPathExt: ".COM;.EXE",
      }),
    );
    assert.equal(result.found?.path, "C:\\tools\\concur.exe");
    assert.equal(result.tried[1].path, "C:\\ext\\server\\concur.exe");
  });
});

describe("expandSetting", () => {
  it("expands the home directory", () => {
    assert.equal(expandSetting("~/bin/concur", "/home/dev", undefined, "linux"), "/home/dev/bin/concur");
    assert.equal(expandSetting("~", "/home/dev", undefined, "linux"), "/home/dev");
  });

  it("resolves relative paths against the workspace", () => {
    assert.equal(
      expandSetting("target/release/concur", "/home/dev", "/work/project", "linux"),
      "/work/project/target/release/concur",
    );
    assert.equal(expandSetting("concur", "/home/dev", undefined, "linux"), "concur");
  });

  it("trims spaces and keeps absolute paths", () => {
    assert.equal(expandSetting("  /opt/concur ", "/home/dev", "/w", "linux"), "/opt/concur");
  });
});

describe("checkExecutableFile", () => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concur-path-test-"));
  after(() => fs.rmSync(directory, { recursive: true, force: true }));

  it("accepts an executable file", () => {
    const file = path.join(directory, "concur");
    fs.writeFileSync(file, "#!/bin/sh\n");
    fs.chmodSync(file, 0o755);
    assert.equal(checkExecutableFile(file), undefined);
  });

  it("rejects a missing file", () => {
    assert.equal(checkExecutableFile(path.join(directory, "absent")), "missing");
  });

  it("rejects a directory", () => {
    assert.equal(checkExecutableFile(directory), "not a file");
  });

  it("rejects a file without the execute bit", () => {
    const file = path.join(directory, "plain");
    fs.writeFileSync(file, "text\n");
    fs.chmodSync(file, 0o644);
    assert.match(checkExecutableFile(file) ?? "", /not executable/);
  });
});
