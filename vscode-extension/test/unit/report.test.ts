import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  ByteText,
  CommandSummary,
  formatReport,
  Job,
  parseSummary,
  statusText,
  statusTooltip,
} from "../../src/report";

const URI = "file:///work/src/lib.rs";
// "é" takes two bytes, so byte and character columns differ on line 2.
const BASE = "fn f() {\n    let é = try!(x);\n    return v.len() == 0;\n}\n";
const offset = (needle: string) => Buffer.byteLength(BASE.slice(0, BASE.indexOf(needle)), "utf8");
const span = (needle: string) => ({
  start: offset(needle),
  end: offset(needle) + Buffer.byteLength(needle, "utf8"),
});

function summary(overrides: Partial<CommandSummary> = {}): CommandSummary {
  return {
    applied: 2,
    conflicts: 1,
    dropped: 1,
    rounds: 2,
    workers: 4,
    failedWorkers: 1,
    files: 1,
    changedFiles: 1,
    edit: "applied",
    attempts: 1,
    failureReason: null,
    skipped: [],
    report: [
      {
        uri: URI,
        version: 7,
        droppedForUserEdit: 0,
        rounds: [
          {
            groups: [
              {
                group: { worker: 0, group: 0 },
                label: "try-macro",
                priority: 0,
                span: span("try!(x)"),
                outcome: { kind: "applied" },
              },
              {
                group: { worker: 1, group: 0 },
                label: "needless-return",
                priority: 0,
                span: span("return v.len() == 0;"),
                outcome: { kind: "applied" },
              },
              {
                group: { worker: 2, group: 0 },
                label: "len-zero",
                priority: 0,
                span: span("v.len() == 0"),
                outcome: { kind: "conflicted", with: { worker: 1, group: 0 } },
              },
              {
                group: { worker: 3, group: 0 },
                label: "bad-rule",
                priority: 0,
                span: span("let é"),
                outcome: { kind: "dropped_for_syntax" },
              },
            ],
            workers: [
              { worker: 4, label: "panicky-rule", elapsed: { secs: 0, nanos: 10 }, error: "panicked: boom" },
            ],
            new_syntax_errors: [],
          },
          {
            groups: [
              {
                group: { worker: 2, group: 0 },
                label: "len-zero",
                priority: 0,
                span: { start: 40, end: 52 },
                outcome: { kind: "applied" },
              },
            ],
            workers: [],
            new_syntax_errors: [{ start: 3, end: 4 }],
          },
        ],
      },
    ],
    ...overrides,
  };
}

function job(overrides: Partial<Job> = {}): Job {
  return {
    title: "Apply all rules to this file",
    finishedAt: new Date(0),
    summary: summary(),
    baseTexts: new Map([[URI, BASE]]),
    ...overrides,
  };
}

describe("statusText", () => {
  it("shows applied and conflicts", () => {
    assert.equal(statusText(job()), "$(warning) concur: 2 applied, 1 conflict, 1 dropped");
  });

  it("uses a check mark for a clean job", () => {
    const clean = job({ summary: summary({ conflicts: 0, dropped: 0, applied: 3 }) });
    assert.equal(statusText(clean), "$(check) concur: 3 applied, 0 conflicts");
  });

  it("shows a rejected edit and a failed request", () => {
    const rejected = job({ summary: summary({ edit: "rejected", failureReason: "version moved" }) });
    assert.equal(statusText(rejected), "$(warning) concur: edit rejected");
    assert.equal(statusText(job({ summary: undefined, error: "boom" })), "$(error) concur: failed");
  });

  it("puts the totals in the tooltip", () => {
    const tooltip = statusTooltip(job());
    assert.ok(tooltip.includes("2 applied, 1 conflict, 1 dropped, 2 rounds"), tooltip);
    assert.ok(tooltip.includes("4 workers (1 failed)"), tooltip);
    assert.ok(tooltip.includes("Edit applied (1 attempt)."), tooltip);
  });
});

describe("formatReport", () => {
  const report = formatReport(job());

  it("lists each rule with its counts", () => {
    assert.ok(report.includes("| len-zero | 0 | 1 | 0 | 0 | 0 |"), report);
    assert.ok(report.includes("| needless-return | 1 | 0 | 0 | 0 | 0 |"), report);
    assert.ok(report.includes("| bad-rule | 0 | 0 | 1 | 0 | 0 |"), report);
  });

  it("shows applied groups as lines and source", () => {
    assert.ok(report.includes("- try-macro: 2:13-2:20 `try!(x)`"), report);
  });

  it("shows both sides of a conflict", () => {
    assert.ok(report.includes("- len-zero: 3:12-3:24 `v.len() == 0`"), report);
    assert.ok(report.includes("  - lost to needless-return: 3:5-3:25 `return v.len() == 0;`"), report);
  });

  it("shows dropped groups with the reason", () => {
    assert.ok(report.includes("- bad-rule: 2:5-2:10 `let é`, because it added a syntax error"), report);
  });

  it("shows failed workers and leftover syntax errors", () => {
    assert.ok(report.includes("- panicky-rule: panicked: boom"), report);
    assert.ok(report.includes("New syntax errors left in the merged text: bytes 3-4"), report);
  });

  it("shows later rounds as byte ranges", () => {
    const second = report.slice(report.indexOf("### Round 2"));
    assert.ok(second.includes("- len-zero: bytes 40-52"), second);
  });

  it("names the document, its version and the totals", () => {
    assert.ok(report.includes(`## ${URI} (version 7)`), report);
    assert.ok(report.includes("2 applied, 1 conflict, 1 dropped, 2 rounds, 4 workers (1 failed), 1 of 1 file changed"), report);
  });

  it("shows byte ranges when the base text is unknown", () => {
    const unknown = formatReport(job({ baseTexts: new Map() }));
    assert.ok(unknown.includes(`- try-macro: bytes ${offset("try!(x)")}-`), unknown);
  });

  it("reports a failed request and the empty state", () => {
    assert.ok(formatReport(job({ summary: undefined, error: "server crashed" })).includes("The command failed: server crashed"));
    assert.ok(formatReport(undefined).includes("No job has run yet"));
  });

  it("says when nothing matched", () => {
    const empty = summary({ applied: 0, conflicts: 0, dropped: 0, edit: "empty", report: [] });
    const text = formatReport(job({ summary: empty }));
    assert.ok(text.includes("No rule matched."), text);
    assert.ok(text.includes("Nothing to change."), text);
  });

  it("explains skipped files and user edits", () => {
    const withSkips = summary({ skipped: ["file:///a.rs: not open"] });
    withSkips.report[0].droppedForUserEdit = 2;
    const text = formatReport(job({ summary: withSkips }));
    assert.ok(text.includes("- file:///a.rs: not open"), text);
    assert.ok(text.includes("2 changes dropped because you edited the same text"), text);
  });
});

describe("ByteText", () => {
  it("converts byte offsets to lines and character columns", () => {
    const text = new ByteText("ab\né🙂x\n");
    assert.equal(text.position(0), "1:1");
    assert.equal(text.position(3), "2:1");
    // "é" is 2 bytes and 1 character; "🙂" is 4 bytes and 2 UTF-16 units.
    assert.equal(text.position(5), "2:2");
    assert.equal(text.position(9), "2:4");
    assert.equal(text.excerpt(5, 10), "🙂x");
  });

  it("shortens long excerpts and folds line breaks", () => {
    const text = new ByteText("a\n  b" + "c".repeat(100));
    assert.equal(text.excerpt(0, 5), "a ⏎ b");
    assert.equal(text.excerpt(4, 104, 10).length, 10);
  });

  it("fences inline code that contains backticks", () => {
    const base = "let s = `x`;\n";
    const text = formatReport(
      job({
        baseTexts: new Map([[URI, base]]),
        summary: summary({
          report: [
            {
              uri: URI,
              version: 1,
              droppedForUserEdit: 0,
              rounds: [
                {
                  groups: [
                    {
                      group: { worker: 0, group: 0 },
                      label: "r",
                      priority: 0,
                      span: { start: 8, end: 11 },
                      outcome: { kind: "applied" },
                    },
                  ],
                  workers: [],
                  new_syntax_errors: [],
                },
              ],
            },
          ],
        }),
      }),
    );
    assert.ok(text.includes("- r: 1:9-1:12 `` `x` ``"), text);
  });
});

describe("parseSummary", () => {
  it("accepts a server reply and fills optional fields", () => {
    const parsed = parseSummary({ applied: 1, conflicts: 0, dropped: 0, rounds: 1, files: 1, report: [] });
    assert.equal(parsed.edit, "empty");
    assert.deepEqual(parsed.skipped, []);
  });

  it("rejects a reply of the wrong shape", () => {
    assert.throws(() => parseSummary(null), /command summary object/);
    assert.throws(() => parseSummary({ applied: "1" }), /"applied"/);
    assert.throws(
      () => parseSummary({ applied: 1, conflicts: 0, dropped: 0, rounds: 1, files: 1 }),
      /"report"/,
    );
  });
});
