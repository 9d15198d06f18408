// The VS Code side of concur: starts `concur lsp`, forwards the `concur`
// settings, runs the server's commands and shows what the last job did in
// the status bar and the merge report.

import * as os from "node:os";
import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  TransportKind,
} from "vscode-languageclient/node";

import {
  CommandSummary,
  formatReport,
  Job,
  parseSummary,
  statusText,
  statusTooltip,
} from "./report";
import {
  checkExecutableFile,
  notFoundMessage,
  resolveServer,
  settingSkippedWarning,
} from "./serverPath";
import {
  logLevel,
  RESTART_SETTINGS,
  SERVER_KEYS,
  serverEnvironment,
  ServerSettings,
  toServerSettings,
} from "./settings";

/** URI of the read-only merge report document. */
const REPORT_URI = vscode.Uri.parse("concur-report:/concur%20merge%20report.md");

/** Serves the report document's text and fires an event when it changes. */
class ReportProvider implements vscode.TextDocumentContentProvider {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  lastJob: Job | undefined;

  provideTextDocumentContent(): string {
    return formatReport(this.lastJob);
  }

  update(job: Job): void {
    this.lastJob = job;
    this.changed.fire(REPORT_URI);
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** The extension's state between activation and deactivation. */
class Extension {
  private client: LanguageClient | undefined;
  /** Settles when the current start attempt ends, successful or not. */
  private starting: Promise<void> | undefined;
  private readonly output: vscode.OutputChannel;
  private readonly status: vscode.StatusBarItem;
  private readonly reports = new ReportProvider();

  constructor(private readonly context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel("concur");
    this.status = vscode.window.createStatusBarItem("concur.status", vscode.StatusBarAlignment.Left);
    this.status.name = "concur";
    this.status.command = "concur.showReport";
    this.setIdleStatus("$(loading~spin) concur: starting", "concur: starting the server");
    this.status.show();
    context.subscriptions.push(
      this.output,
      this.status,
      this.reports,
      vscode.workspace.registerTextDocumentContentProvider("concur-report", this.reports),
      vscode.commands.registerCommand("concur.applyAllToFile", () => this.applyToFile()),
      vscode.commands.registerCommand("concur.applyAllToWorkspace", () => this.applyToWorkspace()),
      vscode.commands.registerCommand("concur.restartServer", () => this.restart()),
      vscode.commands.registerCommand("concur.showReport", () => this.showReport()),
      vscode.workspace.onDidChangeConfiguration((event) => this.configurationChanged(event)),
    );
  }

  private log(message: string): void {
    this.output.appendLine(`[extension ${new Date().toISOString()}] ${message}`);
  }

  private setIdleStatus(text: string, tooltip: string): void {
    this.status.text = text;
    this.status.tooltip = tooltip;
  }

  /** Starts the server unless a start is already under way. */
  start(): Promise<void> {
    this.starting ??= this.startClient().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /** Finds the server binary, or shows where it looked and returns undefined. */
  private findServer(setting: string | undefined): string | undefined {
    const resolution = resolveServer({
      setting,
      extensionPath: this.context.extensionPath,
      workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      envPath: process.env.PATH,
      envPathExt: process.env.PATHEXT,
      homeDir: os.homedir(),
      platform: process.platform,
      checkExecutable: checkExecutableFile,
    });
    if (resolution.found === undefined) {
      const message = notFoundMessage(resolution.tried);
      this.log(message);
      this.setIdleStatus("$(error) concur: no server", message);
      void this.offerHelp(message);
      return undefined;
    }
    const warning = settingSkippedWarning(resolution);
    if (warning !== undefined) {
      this.log(warning);
      void vscode.window.showWarningMessage(warning);
    }
    this.log(`using ${resolution.found.path} (${resolution.found.source})`);
    return resolution.found.path;
  }

  private clientOptions(): LanguageClientOptions {
    return {
      documentSelector: [
        { scheme: "file", language: "rust" },
        { scheme: "untitled", language: "rust" },
      ],
      outputChannel: this.output,
      initializationOptions: currentServerSettings(),
      // The server registers its own watcher for concur.toml.
      synchronize: { configurationSection: "concur" },
      middleware: {
        workspace: {
          // The server pulls its section again on every settings change,
          // so send it only the keys it reads.
          configuration: async (params, token, next) => {
            const values = await next(params, token);
            if (!Array.isArray(values)) {
              return values;
            }
            return values.map((value, index) =>
              params.items[index]?.section === "concur" ? toServerSettings(value) : value,
            );
          },
        },
      },
    };
  }

  private async startClient(): Promise<void> {
    this.setIdleStatus("$(loading~spin) concur: starting", "concur: starting the server");
    const config = vscode.workspace.getConfiguration("concur");
    const command = this.findServer(config.get<string>("server.path"));
    if (command === undefined) {
      return;
    }
    const level = logLevel(config.get("log.level"));
    this.log(`starting ${command} lsp --stdio with CONCUR_LOG=${level}`);
    const serverOptions: ServerOptions = {
      command,
      args: ["lsp"],
      transport: TransportKind.stdio,
      options: { env: serverEnvironment(process.env, level) },
    };
    const client = new LanguageClient("concur", "concur", serverOptions, this.clientOptions());
    this.client = client;
    client.onDidChangeState((event) => {
      if (event.newState === State.Stopped && this.client === client) {
        this.setIdleStatus(
          "$(debug-disconnect) concur: stopped",
          "concur: the server stopped; run concur: Restart server",
        );
      }
    });

    try {
      await client.start();
    } catch (error) {
      const message = `concur: the server ${command} failed to start: ${errorText(error)}`;
      this.log(message);
      this.setIdleStatus("$(error) concur: server failed", message);
      void this.offerHelp(message);
      return;
    }
    const info = client.initializeResult?.serverInfo;
    const version = info?.version === undefined ? "" : ` ${info.version}`;
    this.log(`server${version} running`);
    this.setIdleStatus(
      "$(check) concur",
      `concur${version}: ready. Click to show the last merge report.`,
    );
  }

  private async offerHelp(message: string): Promise<void> {
    const choice = await vscode.window.showErrorMessage(message, "Open Settings", "Show Output");
    if (choice === "Open Settings") {
      await vscode.commands.executeCommand("workbench.action.openSettings", "concur.server.path");
    } else if (choice === "Show Output") {
      this.output.show(true);
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined && client.state !== State.Stopped) {
      try {
        await client.stop();
      } catch (error) {
        this.log(`stopping the server failed: ${errorText(error)}`);
      }
    }
  }

  async restart(): Promise<void> {
    await this.starting?.catch(() => undefined);
    this.log("restarting the server");
    await this.stop();
    await this.start();
  }

  /** Returns the running client, starting it first if needed. Returns
   * undefined, after an error message, when it cannot run. */
  private async runningClient(): Promise<LanguageClient | undefined> {
    if (this.client === undefined || this.client.state === State.Stopped) {
      await this.start();
    } else {
      await this.starting;
    }
    if (this.client === undefined || this.client.state !== State.Running) {
      void vscode.window.showErrorMessage(
        "concur: the server is not running; see the concur output channel, then run concur: Restart server.",
      );
      return undefined;
    }
    return this.client;
  }

  private async applyToFile(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined || editor.document.languageId !== "rust") {
      void vscode.window.showWarningMessage("concur: open a Rust file to apply the rules to it.");
      return;
    }
    const document = editor.document;
    const uri = document.uri.toString();
    await this.runCommand(
      "Apply all rules to this file",
      "concur.applyAll",
      [{ uri }],
      new Map([[uri, document.getText()]]),
    );
  }

  private async applyToWorkspace(): Promise<void> {
    if ((vscode.workspace.workspaceFolders?.length ?? 0) === 0) {
      void vscode.window.showWarningMessage("concur: open a folder to apply the rules to its files.");
      return;
    }
    const texts = new Map<string, string>();
    for (const document of vscode.workspace.textDocuments) {
      if (document.languageId === "rust") {
        texts.set(document.uri.toString(), document.getText());
      }
    }
    await this.runCommand("Apply all rules to the workspace", "concur.applyWorkspace", [], texts);
  }

  /**
   * Sends `workspace/executeCommand`. The server sends one
   * `workspace/applyEdit`, which the client applies, then replies with the
   * summary shown in the status bar and the report.
   */
  private async runCommand(
    title: string,
    command: string,
    args: unknown[],
    baseTexts: Map<string, string>,
  ): Promise<void> {
    const client = await this.runningClient();
    if (client === undefined) {
      return;
    }
    this.setIdleStatus("$(sync~spin) concur: running", `concur: ${title}`);
    let job: Job;
    try {
      const reply: unknown = await client.sendRequest(ExecuteCommandRequest.type, {
        command,
        arguments: args,
      });
      const summary: CommandSummary = parseSummary(reply);
      job = { title, finishedAt: new Date(), summary, baseTexts };
    } catch (error) {
      job = { title, finishedAt: new Date(), error: errorText(error), baseTexts };
    }
    this.reports.update(job);
    this.status.text = statusText(job);
    this.status.tooltip = statusTooltip(job);
    this.log(`${title}: ${statusText(job).replace(/^\$\([^)]*\) /, "")}`);
    if (job.error !== undefined) {
      void vscode.window.showErrorMessage(`concur: ${title} failed: ${job.error}`);
    } else if (job.summary?.edit === "rejected") {
      void vscode.window.showWarningMessage(
        `concur: VS Code did not apply the edit: ${job.summary.failureReason ?? "no reason given"}`,
      );
    }
  }

  private async showReport(): Promise<void> {
    const document = await vscode.workspace.openTextDocument(REPORT_URI);
    await vscode.languages.setTextDocumentLanguage(document, "markdown");
    await vscode.window.showTextDocument(document, { preview: true, viewColumn: vscode.ViewColumn.Beside });
  }

  private configurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (!event.affectsConfiguration("concur")) {
      return;
    }
    const needsRestart = RESTART_SETTINGS.some((setting) => event.affectsConfiguration(setting));
    if (needsRestart) {
      this.log("concur.server.path or concur.log.level changed; restarting the server");
      void this.restart();
      return;
    }
    // The language client sends workspace/didChangeConfiguration for the
    // `concur` section, and the server pulls the new values.
    const settings = currentServerSettings();
    this.log(`settings changed, sent to the running server: ${JSON.stringify(settings)}`);
  }
}

/** Reads the server's keys of the current `concur` settings. */
function currentServerSettings(): ServerSettings {
  const config = vscode.workspace.getConfiguration("concur");
  return toServerSettings(Object.fromEntries(SERVER_KEYS.map((key) => [key, config.get(key)])));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

let extension: Extension | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  extension = new Extension(context);
  await extension.start();
}

export async function deactivate(): Promise<void> {
  await extension?.stop();
  extension = undefined;
}
