// End-to-end test in a real VS Code: code-server on 127.0.0.1 with the
// packaged .vsix installed, driven through Chromium with playwright-core.
// Each step compares the file on disk with the expected text byte for byte
// and saves a screenshot under test-output/e2e/.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { Browser, chromium, Page } from "playwright-core";

import {
  chromiumBin,
  CodeServer,
  codeServerBin,
  concurBin,
  describeDifference,
  EXTENSION_ROOT,
  privateHome,
  tail,
  vsixPath,
  waitFor,
} from "./harness";

const FIXTURES = path.join(EXTENSION_ROOT, "test", "e2e", "fixtures");
const OUTPUT_DIR = process.env.E2E_OUTPUT ?? path.join(EXTENSION_ROOT, "test-output", "e2e");

/** Settings that keep VS Code quiet and offline during the test. */
const QUIET_SETTINGS = {
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "workbench.welcomePage.walkthroughs.openOnInstall": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "update.showReleaseNotes": false,
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "extensions.ignoreRecommendations": true,
  "security.workspace.trust.enabled": false,
  "git.enabled": false,
  // Files change on disk only when a step saves them.
  "files.autoSave": "off",
  "editor.minimap.enabled": false,
  "chat.commandCenter.enabled": false,
};

/** Generous limits: the machine has two cores and the first start of
 * VS Code's workbench is slow. */
const TIMEOUT = {
  workbench: 120_000,
  server: 60_000,
  command: 60_000,
  save: 30_000,
};

describe("VS Code extension in code-server", { timeout: 1_200_000 }, () => {
  let tempRoot = "";
  let workspace = "";
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let failed = false;
  let userSettings: Record<string, unknown> = {};

  /** Runs one step; on failure saves a screenshot and prints every log. */
  async function step(name: string, body: (page: Page) => Promise<void>): Promise<void> {
    if (page === undefined) {
      failed = true;
      throw new Error(`${name}: the browser did not start; see the first failure`);
    }
    try {
      await body(page);
    } catch (error) {
      failed = true;
      await page
        .screenshot({ path: path.join(OUTPUT_DIR, `failed-${name}.png`) })
        .catch((screenshotError) => console.error(`no failure screenshot: ${screenshotError}`));
      printLogs();
      throw error;
    }
  }

  function printLogs(): void {
    if (server === undefined) {
      return;
    }
    console.error(`---- code-server output (last 100 lines)\n${tail(server.log(), 100)}`);
    for (const file of server.logFiles()) {
      const text = fs.readFileSync(file, "utf8");
      if (text.trim().length > 0) {
        console.error(`---- ${path.relative(server.userDataDir, file)} (last 80 lines)\n${tail(text, 80)}`);
      }
    }
  }

  function expected(name: string): string {
    return fs.readFileSync(path.join(FIXTURES, "expected", name), "utf8");
  }

  /** Waits until `file` on disk equals `text`, then asserts it byte for byte. */
  async function assertFileBecomes(file: string, text: string): Promise<void> {
    await waitFor(
      `${file} to be saved with the expected text`,
      () => (fs.readFileSync(file, "utf8") === text ? true : undefined),
      TIMEOUT.save,
    ).catch(() => undefined);
    const actual = fs.readFileSync(file);
    const wanted = Buffer.from(text, "utf8");
    assert.ok(
      actual.equals(wanted),
      `${file} differs from the expected text: ${describeDifference(actual.toString("utf8"), text)}`,
    );
  }

  before(async () => {
    try {
      await setUp();
    } catch (error) {
      failed = true;
      printLogs();
      throw error;
    }
  });

  /** Starts code-server with the extension installed and opens the
   * workspace in Chromium. */
  async function setUp(): Promise<void> {
    fs.rmSync(OUTPUT_DIR, { recursive: true, force: true });
    fs.mkdirSync(OUTPUT_DIR, { recursive: true });
    tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), "concur-vscode-e2e-"));
    workspace = path.join(tempRoot, "workspace");
    fs.cpSync(path.join(FIXTURES, "workspace"), workspace, { recursive: true });

    const concur = concurBin();
    server = new CodeServer(codeServerBin(), tempRoot);
    userSettings = {
      ...QUIET_SETTINGS,
      "concur.server.path": concur,
      "concur.log.level": "info",
      // E2E_TRACE logs the LSP messages in the concur output channel,
      // which a failing step prints.
      ...(process.env.E2E_TRACE !== undefined ? { "concur.trace.server": "messages" } : {}),
    };
    server.writeUserSettings(userSettings);
    server.installExtension(vsixPath());
    await server.start(workspace);

    browser = await chromium.launch({
      executablePath: chromiumBin(),
      headless: true,
      env: privateHome(tempRoot),
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        // Resolve no host name but the local ones, so that nothing the
        // workbench loads reaches another machine.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on("console", (message) => {
      if (message.type() === "error" && process.env.E2E_VERBOSE !== undefined) {
        console.error(`browser console: ${message.text()}`);
      }
    });
    await page.goto(server.url(workspace));
    await page.locator(".monaco-workbench").waitFor({ timeout: TIMEOUT.workbench });
    await page.locator(".explorer-folders-view").waitFor({ timeout: TIMEOUT.workbench });
  }

  after(async () => {
    await browser?.close().catch((error) => console.error(`closing Chromium failed: ${error}`));
    await server?.stop();
    if (failed) {
      console.error(`kept the test's files in ${tempRoot} for inspection`);
    } else if (tempRoot !== "") {
      fs.rmSync(tempRoot, { recursive: true, force: true });
    }
  });

  /** Opens a workspace file through Quick Open and waits for its tab. */
  async function openFile(page: Page, name: string): Promise<void> {
    await page.keyboard.press("Control+P");
    const input = page.locator(".quick-input-widget input");
    await input.waitFor({ timeout: TIMEOUT.command });
    await input.fill(name);
    await page
      .locator(".quick-input-list .monaco-list-row", { hasText: name })
      .first()
      .waitFor({ timeout: TIMEOUT.command });
    await page.keyboard.press("Enter");
    await page
      .locator(".tabs-container .tab.active", { hasText: name })
      .waitFor({ timeout: TIMEOUT.command });
    await page.locator(".editor-instance .monaco-editor textarea").first().focus();
  }

  /** Runs a command by its exact palette title, clicking its row so that
   * a better fuzzy match cannot run instead. */
  async function runCommand(page: Page, title: string): Promise<void> {
    await page.keyboard.press("F1");
    const input = page.locator(".quick-input-widget input");
    await input.waitFor({ timeout: TIMEOUT.command });
    await input.fill(`>${title}`);
    const exact = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
    const row = page
      .locator(".quick-input-list .monaco-list-row")
      .filter({ has: page.locator(".label-name", { hasText: exact }) })
      .first();
    try {
      await row.waitFor({ timeout: TIMEOUT.command });
    } catch (error) {
      const rows = await page.locator(".quick-input-list .monaco-list-row .label-name").allInnerTexts();
      throw new Error(`no command palette row is titled "${title}"; rows: ${JSON.stringify(rows)}`, {
        cause: error,
      });
    }
    await row.click();
    await page.locator(".quick-input-widget").waitFor({ state: "hidden", timeout: TIMEOUT.command });
  }

  /** Locates concur's status bar item. */
  function status(page: Page) {
    return page.locator(".statusbar-item", { hasText: "concur" }).first();
  }

  it("applies all rules to a file from the command palette", async () => {
    await step("apply-all", async (page) => {
      await openFile(page, "lib.rs");
      await waitFor(
        "the concur status bar item to say the server is ready",
        async () => ((await status(page).innerText()).trim() === "concur" ? true : undefined),
        TIMEOUT.server,
      );
      await runCommand(page, "concur: Apply all rules to this file");
      const text = await waitFor(
        "the status bar to show the job's summary",
        async () => {
          const current = (await status(page).innerText()).trim();
          return /applied|failed|rejected/.test(current) ? current : undefined;
        },
        TIMEOUT.command,
      );
      assert.equal(text, "concur: 10 applied, 0 conflicts");
      await page.keyboard.press("Control+S");
      await assertFileBecomes(path.join(workspace, "src", "lib.rs"), expected("lib.rs"));
      await page.locator(".tabs-container .tab.active.dirty").waitFor({ state: "detached", timeout: TIMEOUT.save });
      await page.screenshot({ path: path.join(OUTPUT_DIR, "1-apply-all.png") });
    });
  });

  it("shows the last merge report", async () => {
    await step("report", async (page) => {
      await status(page).click();
      const report = page.locator(".editor-instance .view-lines", { hasText: "concur merge report" });
      await report.first().waitFor({ timeout: TIMEOUT.command });
      const text = await report.first().innerText();
      for (const expectedText of ["Apply all rules to this file", "10 applied, 0 conflicts", "Edit applied"]) {
        assert.ok(text.replace(/\u00a0/g, " ").includes(expectedText), `the report lacks "${expectedText}":\n${text}`);
      }
      await page.screenshot({ path: path.join(OUTPUT_DIR, "2-report.png") });
      await runCommand(page, "View: Close Editor");
    });
  });

  it("fixes all on save with settings changed while running", async () => {
    await step("fix-on-save", async (page) => {
      // Written while the server runs, as a `git pull` would: the extension
      // forwards the change, and the server pulls the new settings without
      // a restart.
      fs.mkdirSync(path.join(workspace, ".vscode"));
      fs.writeFileSync(
        path.join(workspace, ".vscode", "settings.json"),
        JSON.stringify({
          "concur.disable": ["needless-return"],
          "editor.codeActionsOnSave": { "source.fixAll.concur": "explicit" },
        }),
      );
      await waitFor(
        "the extension to report the settings change",
        () => (server!.concurOutput().includes('{"disable":["needless-return"]}') ? true : undefined),
        TIMEOUT.command,
      );
      await openFile(page, "save.rs");
      await page.keyboard.press("Control+End");
      await page.keyboard.type("// typed in VS Code");
      await page.keyboard.press("Control+S");
      await assertFileBecomes(path.join(workspace, "src", "save.rs"), expected("save.rs"));
      await page.screenshot({ path: path.join(OUTPUT_DIR, "3-fix-on-save.png") });
    });
  });

  it("restarts the server and applies rules to the workspace", async () => {
    await step("workspace", async (page) => {
      await runCommand(page, "concur: Restart server");
      await waitFor(
        "the restarted server to be ready",
        async () => ((await status(page).innerText()).trim() === "concur" ? true : undefined),
        TIMEOUT.server,
      );
      // src/other.rs was never opened, so the server reads it from disk and
      // its edit names version null. needless-return is still disabled.
      await runCommand(page, "concur: Apply all rules to the workspace");
      const text = await waitFor(
        "the status bar to show the workspace job's summary",
        async () => {
          const current = (await status(page).innerText()).trim();
          return /applied|failed|rejected/.test(current) ? current : undefined;
        },
        TIMEOUT.command,
      );
      assert.equal(text, "concur: 4 applied, 0 conflicts");
      // VS Code opens the edited file in a dirty editor a moment after the
      // edit is applied, and Save All skips it until then.
      await page
        .locator(".tabs-container .tab.dirty", { hasText: "other.rs" })
        .waitFor({ timeout: TIMEOUT.command });
      await runCommand(page, "File: Save All Files");
      await assertFileBecomes(path.join(workspace, "src", "other.rs"), expected("other.rs"));
      await assertFileBecomes(path.join(workspace, "src", "lib.rs"), expected("lib.rs"));
      await page.mouse.move(700, 500);
      await page.screenshot({ path: path.join(OUTPUT_DIR, "4-workspace.png") });
    });
  });
});
