// Maps the extension's `concur.*` settings onto what the server reads and
// how it is started. Free of the `vscode` module so the unit tests can run
// it under plain Node.

/** The server's settings section, sent as `initializationOptions` and as
 * the result of `workspace/configuration`. Keys left out keep the value of
 * the workspace's `concur.toml`, then the server's default. */
export interface ServerSettings {
  builtin?: unknown;
  disable?: unknown;
  maxRounds?: unknown;
  workers?: unknown;
}

/** Keys of the `concur` section that the server reads. */
export const SERVER_KEYS = ["builtin", "disable", "maxRounds", "workers"] as const;

/** Log levels accepted by `concur.log.level`. */
export const LOG_LEVELS = ["error", "warn", "info", "debug", "trace"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Settings whose change needs a server restart, because they choose the
 * binary or its environment. */
export const RESTART_SETTINGS = ["concur.server.path", "concur.log.level"] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Picks the server's keys out of the `concur` section. Null and undefined
 * values are left out. Other values pass through unchanged, so the server
 * can name an invalid one in its error message.
 */
export function toServerSettings(section: unknown): ServerSettings {
  const settings: ServerSettings = {};
  if (!isRecord(section)) {
    return settings;
  }
  for (const key of SERVER_KEYS) {
    const value = section[key];
    if (value !== null && value !== undefined) {
      settings[key] = value;
    }
  }
  return settings;
}

/** Reads `concur.log.level`, falling back to `warn` for an unknown value. */
export function logLevel(value: unknown): LogLevel {
  return (LOG_LEVELS as readonly unknown[]).includes(value) ? (value as LogLevel) : "warn";
}

/** Builds the server's environment: the host's, plus `CONCUR_LOG`. */
export function serverEnvironment(
  base: NodeJS.ProcessEnv,
  level: unknown,
): NodeJS.ProcessEnv {
  return { ...base, CONCUR_LOG: logLevel(level) };
}
