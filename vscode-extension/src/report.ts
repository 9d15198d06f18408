// Turns the summary a concur command returns into the status bar text and
// a readable Markdown report. Free of the `vscode` module so the unit tests
// can run it under plain Node.

/** Names one group: a worker (one rule) and the group's index in it. */
export interface GroupRef {
  worker: number;
  group: number;
}

export type GroupOutcome =
  | { kind: "applied" }
  | { kind: "deduplicated"; with: GroupRef }
  | { kind: "conflicted"; with: GroupRef }
  | { kind: "dropped_for_syntax" }
  | { kind: "dropped_for_user_edit" }
  | { kind: "unchanged" };

export interface GroupReport {
  group: GroupRef;
  /** The rule id, or a proposal's name. */
  label: string;
  priority: number;
  /** Bytes of the round's base text, end exclusive. */
  span: { start: number; end: number };
  outcome: GroupOutcome;
}

export interface WorkerReport {
  worker: number;
  label: string;
  elapsed?: { secs: number; nanos: number };
  error: string | null;
}

export interface MergeReport {
  groups: GroupReport[];
  workers: WorkerReport[];
  /** Byte ranges of the merged text. */
  new_syntax_errors: { start: number; end: number }[];
}

export interface DocumentReport {
  uri: string;
  version: number | null;
  droppedForUserEdit: number;
  rounds: MergeReport[];
}

/** The reply of `concur.applyAll`, `concur.applyRule`,
 * `concur.applyWorkspace` and `concur.mergeProposals`. */
export interface CommandSummary {
  applied: number;
  conflicts: number;
  dropped: number;
  rounds: number;
  workers: number;
  failedWorkers: number;
  files: number;
  changedFiles: number;
  edit: "applied" | "rejected" | "empty";
  attempts: number;
  failureReason: string | null;
  skipped: string[];
  report: DocumentReport[];
}

/** A finished job as the extension keeps it for the report view. */
export interface Job {
  /** Command title, such as "Apply all rules to this file". */
  title: string;
  finishedAt: Date;
  /** The reply, or undefined when the request failed. */
  summary?: CommandSummary;
  /** The request's error message, when it failed. */
  error?: string;
  /** Text of documents when the command started, by URI, so that the
   * first round's byte spans can be shown as lines and source text. */
  baseTexts: Map<string, string>;
}

function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/** Checks the shape of a command reply and returns it typed, or throws. */
export function parseSummary(value: unknown): CommandSummary {
  if (typeof value !== "object" || value === null) {
    throw new Error(`expected a command summary object, got ${JSON.stringify(value)}`);
  }
  const summary = value as Partial<CommandSummary>;
  for (const key of ["applied", "conflicts", "dropped", "rounds", "files"] as const) {
    if (typeof summary[key] !== "number") {
      throw new Error(`the command summary has no number "${key}": ${JSON.stringify(value)}`);
    }
  }
  if (!Array.isArray(summary.report)) {
    throw new Error(`the command summary has no "report" list: ${JSON.stringify(value)}`);
  }
  return {
    workers: 0,
    failedWorkers: 0,
    changedFiles: 0,
    edit: "empty",
    attempts: 0,
    failureReason: null,
    skipped: [],
    ...summary,
  } as CommandSummary;
}

/** Status bar text of a finished job, with a codicon in front. */
export function statusText(job: Job): string {
  if (job.error !== undefined || job.summary === undefined) {
    return "$(error) concur: failed";
  }
  const summary = job.summary;
  if (summary.edit === "rejected") {
    return "$(warning) concur: edit rejected";
  }
  const parts = [`${summary.applied} applied`, plural(summary.conflicts, "conflict")];
  if (summary.dropped > 0) {
    parts.push(`${summary.dropped} dropped`);
  }
  const icon = summary.conflicts > 0 || summary.dropped > 0 ? "$(warning)" : "$(check)";
  return `${icon} concur: ${parts.join(", ")}`;
}

/** Status bar tooltip of a finished job. */
export function statusTooltip(job: Job): string {
  const lines = [`concur: ${job.title}`];
  if (job.error !== undefined || job.summary === undefined) {
    lines.push(`Failed: ${job.error ?? "no reply"}`);
  } else {
    lines.push(totalsLine(job.summary));
    lines.push(editLine(job.summary));
  }
  lines.push("Click to show the merge report.");
  return lines.join("\n");
}

function totalsLine(summary: CommandSummary): string {
  return (
    `${summary.applied} applied, ${plural(summary.conflicts, "conflict")}, ` +
    `${summary.dropped} dropped, ${plural(summary.rounds, "round")}, ` +
    `${plural(summary.workers, "worker")} (${summary.failedWorkers} failed), ` +
    `${summary.changedFiles} of ${plural(summary.files, "file")} changed`
  );
}

function editLine(summary: CommandSummary): string {
  switch (summary.edit) {
    case "applied":
      return `Edit applied (${plural(summary.attempts, "attempt")}).`;
    case "empty":
      return "Nothing to change.";
    case "rejected":
      return `Edit rejected by VS Code after ${plural(summary.attempts, "attempt")}: ${summary.failureReason ?? "no reason given"}.`;
  }
}

/** Line and column (both from 1) of a byte offset, and the source text of a
 * byte range, for one document's text. */
export class ByteText {
  private readonly bytes: Buffer;
  private readonly lineStarts: number[];

  constructor(text: string) {
    this.bytes = Buffer.from(text, "utf8");
    this.lineStarts = [0];
    for (let index = 0; index < this.bytes.length; index++) {
      if (this.bytes[index] === 0x0a) {
        this.lineStarts.push(index + 1);
      }
    }
  }

  /** Checks that `end` lies inside the text, so that spans up to it can be shown. */
  covers(end: number): boolean {
    return end <= this.bytes.length;
  }

  /** `line:column`, both from 1; the column counts UTF-16 code units, as
   * VS Code does. */
  position(offset: number): string {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.lineStarts[middle] <= offset) {
        low = middle;
      } else {
        high = middle - 1;
      }
    }
    const lineStart = this.lineStarts[low];
    const column = this.bytes.subarray(lineStart, offset).toString("utf8").length + 1;
    return `${low + 1}:${column}`;
  }

  /** Returns the text of a byte range on one line, shortened to `limit` characters. */
  excerpt(start: number, end: number, limit = 60): string {
    const text = this.bytes
      .subarray(start, end)
      .toString("utf8")
      .replace(/\r?\n\s*/g, " ⏎ ");
    return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
  }
}

/** Markdown inline code that survives backticks inside `text`. */
function code(text: string): string {
  if (text.length === 0) {
    return "(empty)";
  }
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longestRun + 1);
  const padding = text.startsWith("`") || text.endsWith("`") ? " " : "";
  return `${fence}${padding}${text}${padding}${fence}`;
}

/** Describes where a group sits: lines and source text when the base text
 * is known, else the byte range. */
function where(span: { start: number; end: number }, base: ByteText | undefined): string {
  if (base !== undefined && base.covers(span.end)) {
    const range =
      span.start === span.end
        ? `at ${base.position(span.start)}`
        : `${base.position(span.start)}-${base.position(span.end)}`;
    return `${range} ${code(base.excerpt(span.start, span.end))}`;
  }
  return `bytes ${span.start}-${span.end}`;
}

function sameRef(a: GroupRef, b: GroupRef): boolean {
  return a.worker === b.worker && a.group === b.group;
}

function describeRound(round: MergeReport, base: ByteText | undefined): string[] {
  const lines: string[] = [];
  const find = (ref: GroupRef) => round.groups.find((group) => sameRef(group.group, ref));
  const byRule = new Map<string, Map<string, number>>();
  for (const group of round.groups) {
    const counts = byRule.get(group.label) ?? new Map<string, number>();
    counts.set(group.outcome.kind, (counts.get(group.outcome.kind) ?? 0) + 1);
    byRule.set(group.label, counts);
  }
  if (byRule.size > 0) {
    lines.push("| Rule | Applied | Conflicts | Dropped | Deduplicated | Unchanged |");
    lines.push("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (const [rule, counts] of [...byRule].sort(([a], [b]) => a.localeCompare(b))) {
      const count = (kind: string) => counts.get(kind) ?? 0;
      const dropped = count("dropped_for_syntax") + count("dropped_for_user_edit");
      lines.push(
        `| ${rule} | ${count("applied")} | ${count("conflicted")} | ${dropped} | ` +
          `${count("deduplicated")} | ${count("unchanged")} |`,
      );
    }
    lines.push("");
  }

  // List groups in text order, which is easier to follow than worker order.
  const ordered = [...round.groups].sort(
    (a, b) => a.span.start - b.span.start || a.label.localeCompare(b.label),
  );
  const applied = ordered.filter((group) => group.outcome.kind === "applied");
  if (applied.length > 0) {
    lines.push("Applied:", "");
    for (const group of applied) {
      lines.push(`- ${group.label}: ${where(group.span, base)}`);
    }
    lines.push("");
  }

  const conflicts = ordered.filter((group) => group.outcome.kind === "conflicted");
  if (conflicts.length > 0) {
    lines.push("Conflicts (the first rule lost to the second, which ranks better):", "");
    for (const group of conflicts) {
      const outcome = group.outcome as { kind: "conflicted"; with: GroupRef };
      const winner = find(outcome.with);
      const winnerText =
        winner === undefined
          ? `worker ${outcome.with.worker} group ${outcome.with.group}`
          : `${winner.label}: ${where(winner.span, base)}`;
      lines.push(`- ${group.label}: ${where(group.span, base)}`, `  - lost to ${winnerText}`);
    }
    lines.push("");
  }

  const dropped = ordered.filter(
    (group) =>
      group.outcome.kind === "dropped_for_syntax" || group.outcome.kind === "dropped_for_user_edit",
  );
  if (dropped.length > 0) {
    lines.push("Dropped:", "");
    for (const group of dropped) {
      const reason =
        group.outcome.kind === "dropped_for_syntax"
          ? "it added a syntax error"
          : "you edited this text while the job ran";
      lines.push(`- ${group.label}: ${where(group.span, base)}, because ${reason}`);
    }
    lines.push("");
  }

  const deduplicated = ordered.filter((group) => group.outcome.kind === "deduplicated");
  if (deduplicated.length > 0) {
    lines.push("Deduplicated (another rule makes the same change):", "");
    for (const group of deduplicated) {
      const outcome = group.outcome as { kind: "deduplicated"; with: GroupRef };
      const other = find(outcome.with);
      lines.push(
        `- ${group.label}: ${where(group.span, base)}, same as ${other?.label ?? `worker ${outcome.with.worker}`}`,
      );
    }
    lines.push("");
  }

  const failed = round.workers.filter((worker) => worker.error !== null);
  if (failed.length > 0) {
    lines.push("Failed workers (their edits are left out):", "");
    for (const worker of failed) {
      lines.push(`- ${worker.label}: ${worker.error}`);
    }
    lines.push("");
  }

  if (round.new_syntax_errors.length > 0) {
    const ranges = round.new_syntax_errors.map((range) => `bytes ${range.start}-${range.end}`);
    lines.push(`New syntax errors left in the merged text: ${ranges.join(", ")}`, "");
  }
  return lines;
}

/** Formats the whole report of a job as Markdown. */
export function formatReport(job: Job | undefined): string {
  if (job === undefined) {
    return (
      "# concur merge report\n\nNo job has run yet. Run **concur: Apply all rules to this file** " +
      "or **concur: Apply all rules to the workspace** from the command palette.\n"
    );
  }
  const lines = ["# concur merge report", ""];
  lines.push(`${job.title}, finished ${job.finishedAt.toLocaleString()}.`, "");
  if (job.error !== undefined || job.summary === undefined) {
    lines.push(`The command failed: ${job.error ?? "the server sent no reply"}`, "");
    return lines.join("\n");
  }
  const summary = job.summary;
  lines.push(`- ${totalsLine(summary)}`, `- ${editLine(summary)}`, "");
  if (summary.skipped.length > 0) {
    lines.push("Files left out of the edit:", "");
    for (const skipped of summary.skipped) {
      lines.push(`- ${skipped}`);
    }
    lines.push("");
  }
  if (summary.report.length === 0) {
    lines.push("No rule matched.", "");
  }
  for (const document of summary.report) {
    const version = document.version === null ? "not open" : `version ${document.version}`;
    lines.push(`## ${document.uri} (${version})`, "");
    if (document.droppedForUserEdit > 0) {
      lines.push(
        `${plural(document.droppedForUserEdit, "change")} dropped because you edited the same text while the job ran.`,
        "",
      );
    }
    const baseText = job.baseTexts.get(document.uri);
    document.rounds.forEach((round, index) => {
      lines.push(`### Round ${index + 1}`, "");
      // NOTE: the server reports spans in bytes of each round's base text.
      // Only the first round's base is known here, so later rounds show
      // byte ranges.
      const base = index === 0 && baseText !== undefined ? new ByteText(baseText) : undefined;
      const described = describeRound(round, base);
      lines.push(...(described.length > 0 ? described : ["No rule matched in this round.", ""]));
    });
  }
  return lines.join("\n");
}
