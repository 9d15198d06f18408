// Starts and stops the pieces of the end-to-end test: the concur binary,
// code-server on 127.0.0.1 and Chromium through playwright-core. Every
// path can be overridden by an environment variable, and everything the
// test starts is stopped in `stop`.

import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

/** The code-server version the install script puts in the cache. */
export const CODE_SERVER_VERSION = "4.100.3";

/** The extension directory (vscode-extension/), found from this file in out/test/e2e/. */
export const EXTENSION_ROOT = path.resolve(__dirname, "../../..");
export const REPO_ROOT = path.resolve(EXTENSION_ROOT, "..");

/** Returns the cache folder where the install script puts code-server. */
export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache");
  return process.env.CONCUR_E2E_CACHE ?? path.join(base, "concur-vscode-e2e");
}

export function codeServerBin(): string {
  const bin =
    process.env.CODE_SERVER_BIN ??
    path.join(cacheDir(), `code-server-${CODE_SERVER_VERSION}`, "node_modules", ".bin", "code-server");
  if (!fs.existsSync(bin)) {
    throw new Error(
      `code-server not found at ${bin}; run vscode-extension/scripts/install-test-deps.sh, ` +
        "or set CODE_SERVER_BIN to a code-server binary",
    );
  }
  return bin;
}

/** Returns Debian's Chromium: the real binary, not the wrapper script, when present. */
export function chromiumBin(): string {
  const candidates = [process.env.CHROMIUM_BIN, "/usr/lib/chromium/chromium", "/usr/bin/chromium"];
  for (const candidate of candidates) {
    if (candidate !== undefined && fs.existsSync(candidate)) {
      return candidate;
    }
  }
  throw new Error(
    "Chromium not found in /usr/lib/chromium or /usr/bin; install Debian's chromium package " +
      "(scripts/install-test-deps.sh does), or set CHROMIUM_BIN",
  );
}

/** Returns the concur binary: CONCUR_SERVER, else a debug build made with cargo now. */
export function concurBin(): string {
  const fromEnv = process.env.CONCUR_SERVER;
  if (fromEnv !== undefined && fromEnv.length > 0) {
    if (!fs.existsSync(fromEnv)) {
      throw new Error(`CONCUR_SERVER is ${fromEnv}, which does not exist`);
    }
    return path.resolve(fromEnv);
  }
  execFileSync("cargo", ["build", "--locked", "-p", "concur"], { cwd: REPO_ROOT, stdio: "inherit" });
  return path.join(REPO_ROOT, "target", "debug", "concur");
}

/** Returns the .vsix that `npm run package` wrote. */
export function vsixPath(): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, "package.json"), "utf8"));
  const file = path.join(EXTENSION_ROOT, `concur-${manifest.version}.vsix`);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} not found; run npm run package first (npm test does)`);
  }
  return file;
}

/** Finds a TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.setTimeout(2000, () => request.destroy(new Error("timed out")));
    request.once("error", reject);
  });
}

export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/**
 * Calls `probe` every `interval` ms until it returns a value other than
 * undefined, or throws after `timeout` ms with `what` in the message.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeout: number,
  interval = 250,
): Promise<T> {
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) {
        return value;
      }
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError === undefined ? "" : ` (last error: ${String(lastError)})`;
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${detail}`);
    }
    await sleep(interval);
  }
}

/** Returns the environment with the XDG data, config and cache folders
 * moved under `root`, so that a test run writes nothing to the home folder. */
export function privateHome(root: string): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = { ...process.env };
  for (const [variable, folder] of [
    ["XDG_DATA_HOME", "data"],
    ["XDG_CONFIG_HOME", "config"],
    ["XDG_CACHE_HOME", "cache"],
  ]) {
    environment[variable] = path.join(root, "home", folder);
    fs.mkdirSync(environment[variable]!, { recursive: true });
  }
  return environment;
}

/** Extension gallery on a closed local port, so that code-server sends no
 * extension queries to another host. */
const NO_GALLERY = JSON.stringify({
  serviceUrl: "http://127.0.0.1:9/gallery",
  itemUrl: "http://127.0.0.1:9/item",
  resourceUrlTemplate: "http://127.0.0.1:9/asset/{publisher}/{name}/{version}/{path}",
});

/** One code-server instance with its own user data, extensions and log. */
export class CodeServer {
  readonly userDataDir: string;
  readonly extensionsDir: string;
  readonly configFile: string;
  private readonly output: string[] = [];
  private process: ChildProcess | undefined;
  private exited: string | undefined;
  port = 0;

  constructor(
    private readonly bin: string,
    readonly root: string,
  ) {
    this.userDataDir = path.join(root, "user-data");
    this.extensionsDir = path.join(root, "extensions");
    this.configFile = path.join(root, "code-server.yaml");
    fs.mkdirSync(path.join(this.userDataDir, "User"), { recursive: true });
    fs.mkdirSync(this.extensionsDir, { recursive: true });
  }

  /** Keeps code-server's own logs and caches inside `root` too. */
  private environment(): NodeJS.ProcessEnv {
    return { ...privateHome(this.root), EXTENSIONS_GALLERY: NO_GALLERY };
  }

  private commonArgs(): string[] {
    return [
      "--config",
      this.configFile,
      "--user-data-dir",
      this.userDataDir,
      "--extensions-dir",
      this.extensionsDir,
    ];
  }

  /** Writes the user settings.json. */
  writeUserSettings(settings: Record<string, unknown>): void {
    const file = path.join(this.userDataDir, "User", "settings.json");
    fs.writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`);
  }

  installExtension(vsix: string): void {
    fs.writeFileSync(this.configFile, "auth: none\ncert: false\n");
    const output = execFileSync(
      this.bin,
      [...this.commonArgs(), "--force", "--install-extension", vsix],
      { env: this.environment(), encoding: "utf8", timeout: 120_000, stdio: ["ignore", "pipe", "pipe"] },
    );
    this.output.push(`--install-extension:\n${output}`);
  }

  /** Starts code-server on a free port of 127.0.0.1 and waits for /healthz. */
  async start(workspace: string): Promise<void> {
    this.port = await freePort();
    fs.writeFileSync(
      this.configFile,
      `bind-addr: 127.0.0.1:${this.port}\nauth: none\ncert: false\n`,
    );
    const child = spawn(
      this.bin,
      [
        ...this.commonArgs(),
        "--bind-addr",
        `127.0.0.1:${this.port}`,
        "--auth",
        "none",
        "--disable-telemetry",
        "--disable-update-check",
        "--disable-workspace-trust",
        "--disable-getting-started-override",
        "--ignore-last-opened",
        workspace,
      ],
      { env: this.environment(), stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    this.process = child;
    const collect = (chunk: Buffer) => this.output.push(chunk.toString("utf8"));
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    child.once("exit", (code, signal) => {
      this.exited = `code-server exited with code ${code} signal ${signal}`;
      this.output.push(`${this.exited}\n`);
    });
    await waitFor(
      `code-server to answer on port ${this.port}`,
      async () => {
        if (this.exited !== undefined) {
          throw new Error(`${this.exited} before it was ready`);
        }
        const status = await httpStatus(`http://127.0.0.1:${this.port}/healthz`).catch(() => 0);
        return status === 200 ? true : undefined;
      },
      90_000,
      500,
    );
  }

  url(folder: string): string {
    return `http://127.0.0.1:${this.port}/?folder=${encodeURIComponent(folder)}`;
  }

  /** Stops code-server and every process it started (its process group). */
  async stop(): Promise<void> {
    const child = this.process;
    if (child === undefined || child.pid === undefined || this.exited !== undefined) {
      return;
    }
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      return;
    }
    const stopped = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!stopped) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
      await Promise.race([exited, sleep(5_000)]);
    }
  }

  /** code-server's own output so far. */
  log(): string {
    return this.output.join("");
  }

  /** Lists every log file under the user data directory, such as the
   * extension host's log and the concur output channel. */
  logFiles(): string[] {
    const found: string[] = [];
    const walk = (directory: string) => {
      for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
        const full = path.join(directory, entry.name);
        if (entry.isDirectory()) {
          walk(full);
        } else if (entry.name.endsWith(".log")) {
          found.push(full);
        }
      }
    };
    const logs = path.join(this.userDataDir, "logs");
    if (fs.existsSync(logs)) {
      walk(logs);
    }
    return found.sort();
  }

  /** Reads the concur output channel's text from its log file. */
  concurOutput(): string {
    return this.logFiles()
      .filter((file) => /output_logging_.*concur\.log$/.test(file) || path.basename(file).endsWith("-concur.log"))
      .map((file) => fs.readFileSync(file, "utf8"))
      .join("");
  }
}

/** Returns the last `lines` lines of `text`. */
export function tail(text: string, lines: number): string {
  const all = text.split("\n");
  return all.slice(Math.max(0, all.length - lines)).join("\n");
}

/** Describes where two texts first differ, with both sides around that
 * point, for a failure message. */
export function describeDifference(actual: string, expected: string): string {
  let index = 0;
  while (index < actual.length && index < expected.length && actual[index] === expected[index]) {
    index++;
  }
  const line = actual.slice(0, index).split("\n").length;
  const around = (text: string) => JSON.stringify(text.slice(Math.max(0, index - 40), index + 40));
  return (
    `first difference at character ${index} (line ${line}); lengths ${actual.length} and ${expected.length}\n` +
    `actual:   ${around(actual)}\nexpected: ${around(expected)}`
  );
}
