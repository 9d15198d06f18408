import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

import { logLevel, SERVER_KEYS, serverEnvironment, toServerSettings } from "../../src/settings";

describe("toServerSettings", () => {
  it("keeps the server's keys and drops the extension's", () => {
    const section = {
      server: { path: "/opt/concur" },
      builtin: false,
      disable: ["try-macro"],
      maxRounds: 3,
      workers: 2,
      trace: { server: "verbose" },
      log: { level: "debug" },
    };
    assert.deepEqual(toServerSettings(section), {
      builtin: false,
      disable: ["try-macro"],
      maxRounds: 3,
      workers: 2,
    });
  });

  it("leaves out null and undefined values", () => {
    const section = { builtin: null, disable: [], maxRounds: undefined, workers: null };
    assert.deepEqual(toServerSettings(section), { disable: [] });
  });

  it("passes invalid values through for the server to report", () => {
    assert.deepEqual(toServerSettings({ maxRounds: "many" }), { maxRounds: "many" });
  });

  it("reads nothing from a value that is not an object", () => {
    assert.deepEqual(toServerSettings(undefined), {});
    assert.deepEqual(toServerSettings(null), {});
    assert.deepEqual(toServerSettings([1, 2]), {});
  });
});

describe("server environment", () => {
  it("sets CONCUR_LOG from the log level", () => {
    const environment = serverEnvironment({ PATH: "/usr/bin", CONCUR_LOG: "trace" }, "info");
    assert.equal(environment.CONCUR_LOG, "info");
    assert.equal(environment.PATH, "/usr/bin");
  });

  it("falls back to warn for an unknown level", () => {
    assert.equal(logLevel("loud"), "warn");
    assert.equal(logLevel(undefined), "warn");
    assert.equal(logLevel("trace"), "trace");
  });
});

describe("package.json settings", () => {
  const manifest = JSON.parse(readFileSync(join(__dirname, "../../../package.json"), "utf8"));
  const properties: Record<string, { default?: unknown }> =
    manifest.contributes.configuration.properties;

  it("declares one setting per server key", () => {
    for (const key of SERVER_KEYS) {
      assert.ok(`concur.${key}` in properties, `concur.${key} is not declared`);
    }
  });

  it("declares the extension's own settings", () => {
    for (const key of ["concur.server.path", "concur.trace.server", "concur.log.level"]) {
      assert.ok(key in properties, `${key} is not declared`);
    }
  });

  it("defaults send nothing that overrides concur.toml", () => {
    const defaults = Object.fromEntries(
      SERVER_KEYS.map((key) => [key, properties[`concur.${key}`].default]),
    );
    assert.deepEqual(toServerSettings(defaults), { disable: [] });
  });

  it("contributes the four commands", () => {
    const titles = manifest.contributes.commands.map(
      (command: { category: string; title: string }) => `${command.category}: ${command.title}`,
    );
    assert.deepEqual(titles, [
      "concur: Apply all rules to this file",
      "concur: Apply all rules to the workspace",
      "concur: Restart server",
      "concur: Show last merge report",
    ]);
  });
});
