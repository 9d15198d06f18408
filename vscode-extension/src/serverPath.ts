// Finds the `concur` binary: the `concur.server.path` setting, then the
// binary bundled inside the extension, then `concur` on PATH. Pure apart
// from the file checks passed in, so the unit tests can run it without
// VS Code or a real file system.

import * as fs from "node:fs";
import * as path from "node:path";

/** Origin of a candidate binary. */
export type ServerSource = "setting" | "bundled" | "path";

/** One place the extension looked for the server, and what it found. */
export interface Candidate {
  source: ServerSource;
  /** The absolute path checked, or the PATH lookup described in words. */
  path: string;
  /** Reason the candidate cannot be used; absent when it can. */
  problem?: string;
}

export interface ResolveInput {
  /** The `concur.server.path` setting; empty or undefined when unset. */
  setting: string | undefined;
  /** The extension's install directory. */
  extensionPath: string;
  /** The first workspace folder, for a relative `concur.server.path`. */
  workspaceFolder: string | undefined;
  /** The PATH variable of the extension host. */
  envPath: string | undefined;
  /** PATHEXT on Windows; ignored elsewhere. */
  envPathExt?: string | undefined;
  homeDir: string;
  platform: NodeJS.Platform;
  /** Returns why `file` is not an executable regular file, or undefined. */
  checkExecutable: (file: string) => string | undefined;
}

export type Resolution =
  | { found: Candidate; tried: Candidate[] }
  | { found: undefined; tried: Candidate[] };

/** File name of the server binary on `platform`. */
export function binaryName(platform: NodeJS.Platform): string {
  return platform === "win32" ? "concur.exe" : "concur";
}

/** Path of the binary bundled inside the extension directory. */
export function bundledPath(extensionPath: string, platform: NodeJS.Platform): string {
  return pathModule(platform).join(extensionPath, "server", binaryName(platform));
}

function pathModule(platform: NodeJS.Platform): path.PlatformPath {
  return platform === "win32" ? path.win32 : path.posix;
}

/**
 * Expands a leading `~` and resolves a relative setting against the first
 * workspace folder (or leaves it relative when no folder is open).
 */
export function expandSetting(
  setting: string,
  homeDir: string,
  workspaceFolder: string | undefined,
  platform: NodeJS.Platform,
): string {
  const paths = pathModule(platform);
  let expanded = setting.trim();
  if (expanded === "~") {
    expanded = homeDir;
  } else if (expanded.startsWith("~/") || (platform === "win32" && expanded.startsWith("~\\"))) {
    expanded = paths.join(homeDir, expanded.slice(2));
  }
  if (!paths.isAbsolute(expanded) && workspaceFolder !== undefined) {
    expanded = paths.resolve(workspaceFolder, expanded);
  }
  return expanded;
}

/** Lists every `concur` file name to try in each PATH directory. */
function pathNames(platform: NodeJS.Platform, envPathExt: string | undefined): string[] {
  if (platform !== "win32") {
    return ["concur"];
  }
  const extensions = (envPathExt ?? ".EXE;.CMD;.BAT")
    .split(";")
    .map((extension) => extension.trim())
    .filter((extension) => extension.length > 0);
  return extensions.map((extension) => `concur${extension.toLowerCase()}`);
}

/** Looks `concur` up in the PATH directories, first match wins. */
function searchPath(input: ResolveInput): Candidate {
  const paths = pathModule(input.platform);
  const delimiter = input.platform === "win32" ? ";" : ":";
  const directories = (input.envPath ?? "")
    .split(delimiter)
    .filter((directory) => directory.length > 0);
  for (const directory of directories) {
    for (const name of pathNames(input.platform, input.envPathExt)) {
      const file = paths.join(directory, name);
      if (input.checkExecutable(file) === undefined) {
        return { source: "path", path: file };
      }
    }
  }
  const where = directories.length > 0 ? directories.join(delimiter) : "(PATH is empty)";
  return {
    source: "path",
    path: `concur on PATH`,
    problem: `not found in ${where}`,
  };
}

/**
 * Tries the setting, the bundled binary and PATH in that order and returns
 * the first that is an executable file, with every candidate checked.
 */
export function resolveServer(input: ResolveInput): Resolution {
  const tried: Candidate[] = [];
  const setting = input.setting?.trim() ?? "";
  if (setting.length > 0) {
    const file = expandSetting(setting, input.homeDir, input.workspaceFolder, input.platform);
    const problem = input.checkExecutable(file);
    tried.push({ source: "setting", path: file, problem });
    if (problem === undefined) {
      return { found: tried[tried.length - 1], tried };
    }
  } else {
    tried.push({ source: "setting", path: "concur.server.path", problem: "not set" });
  }
  const bundled = bundledPath(input.extensionPath, input.platform);
  const bundledProblem = input.checkExecutable(bundled);
  tried.push({ source: "bundled", path: bundled, problem: bundledProblem });
  if (bundledProblem === undefined) {
    return { found: tried[tried.length - 1], tried };
  }
  const onPath = searchPath(input);
  tried.push(onPath);
  if (onPath.problem === undefined) {
    return { found: onPath, tried };
  }
  return { found: undefined, tried };
}

const SOURCE_NAMES: Record<ServerSource, string> = {
  setting: "concur.server.path setting",
  bundled: "binary bundled with the extension",
  path: "PATH",
};

/** Describes each candidate on one line, such as `- PATH: not found in /usr/bin`. */
export function describeTried(tried: Candidate[]): string {
  return tried
    .map((candidate) => {
      const name = SOURCE_NAMES[candidate.source];
      if (candidate.source === "setting" && candidate.problem === "not set") {
        return `- ${name}: not set`;
      }
      if (candidate.source === "path" && candidate.problem !== undefined) {
        return `- ${name}: ${candidate.problem}`;
      }
      const state = candidate.problem ?? "usable";
      return `- ${name}: ${candidate.path} (${state})`;
    })
    .join("\n");
}

/** How to get a server, shown when no candidate is usable. */
export const INSTALL_HINT =
  "Install the server with `cargo install --path server` from a concur checkout " +
  "(it puts `concur` in ~/.cargo/bin, which must be on PATH), " +
  "or set concur.server.path to the binary.";

/** Builds the message shown when no candidate is usable. */
export function notFoundMessage(tried: Candidate[]): string {
  return `concur: the language server was not found. Tried:\n${describeTried(tried)}\n${INSTALL_HINT}`;
}

/**
 * Warning for a set `concur.server.path` that was passed over for a later
 * candidate, or undefined when the setting was used or unset.
 */
export function settingSkippedWarning(resolution: Resolution): string | undefined {
  const setting = resolution.tried.find((candidate) => candidate.source === "setting");
  if (
    resolution.found === undefined ||
    setting === undefined ||
    setting.problem === undefined ||
    setting.problem === "not set"
  ) {
    return undefined;
  }
  return (
    `concur: concur.server.path ${setting.path} cannot be used (${setting.problem}); ` +
    `using ${resolution.found.path} instead.`
  );
}

/**
 * Checks that `file` is a regular file the extension host may execute, and
 * returns why not: missing, a directory, or not executable.
 */
export function checkExecutableFile(file: string): string | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? "missing" : `cannot be read: ${String(error)}`;
  }
  if (!stat.isFile()) {
    return "not a file";
  }
  if (process.platform === "win32") {
    return undefined;
  }
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    return "not executable; run chmod +x on it";
  }
  return undefined;
}
