/**
 * Reads the Autobahn TestSuite's report (`index.json` in its output
 * directory) and sums it up per agent and case group: how many cases were
 * OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED or FAILED, which cases were
 * not OK and why, and which cases one agent fails that another passes.
 *
 * @module
 */

/** One case's verdicts, as the report's index holds them. */
export interface CaseResult {
  /** OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED or FAILED. */
  behavior: string;
  /** The verdict on the closing handshake: OK, INFORMATIONAL, FAILED, ... */
  behaviorClose: string;
  /** Milliseconds the case took. */
  duration: number;
  /** The close code the server sent, if any. */
  remoteCloseCode?: number | null;
}

/** The report's index: agent, then case id ("9.1.6"), then its verdicts. */
export type ReportIndex = Record<string, Record<string, CaseResult>>;

/** The verdicts counted. */
export const VERDICTS = [
  "OK",
  "NON-STRICT",
  "INFORMATIONAL",
  "UNIMPLEMENTED",
  "FAILED",
] as const;

const PASSING = new Set(["OK", "INFORMATIONAL"]);

/** Case ids in their natural order: 1.1.2 before 1.1.10. */
export function byCaseId(a: string, b: string): number {
  const left = a.split(".").map(Number);
  const right = b.split(".").map(Number);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const d = (left[i] ?? -1) - (right[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** A case counts as passed when both its verdicts are OK or INFORMATIONAL. */
export function passed(result: CaseResult): boolean {
  return PASSING.has(result.behavior) && PASSING.has(result.behaviorClose);
}

/** Counts per case group (the id's first number) and verdict. */
export function countByGroup(
  cases: Record<string, CaseResult>,
): Map<string, Map<string, number>> {
  const groups = new Map<string, Map<string, number>>();
  for (const id of Object.keys(cases).sort(byCaseId)) {
    const group = id.split(".")[0];
    const counts = groups.get(group) ?? new Map<string, number>();
    const verdict = cases[id].behavior;
    counts.set(verdict, (counts.get(verdict) ?? 0) + 1);
    groups.set(group, counts);
  }
  return groups;
}

/** The summary as text: a table per agent, then the cases that matter. */
export function summarize(index: ReportIndex): string {
  const lines: string[] = [];
  const agents = Object.keys(index);
  for (const agent of agents) {
    const cases = index[agent];
    lines.push(`${agent}: ${Object.keys(cases).length} cases`);
    const table = [["group", ...VERDICTS]];
    const totals = VERDICTS.map(() => 0);
    for (const [group, counts] of countByGroup(cases)) {
      const row = VERDICTS.map((v) => counts.get(v) ?? 0);
      row.forEach((n, i) => totals[i] += n);
      table.push([group, ...row.map(String)]);
    }
    table.push(["all", ...totals.map(String)]);
    lines.push(...formatTable(table).map((l) => `  ${l}`));
    const notPassed = Object.keys(cases).sort(byCaseId)
      .filter((id) => !passed(cases[id]))
      .map((id) =>
        `${id} ${cases[id].behavior}/${cases[id].behaviorClose} (close ${
          cases[id].remoteCloseCode ?? "none"
        })`
      );
    lines.push(
      `  not passed: ${notPassed.length ? notPassed.join(", ") : "none"}`,
    );
  }
  for (const agent of agents) {
    for (const other of agents) {
      if (other === agent) continue;
      const worse = regressions(index[agent], index[other]);
      if (worse.length) {
        lines.push(
          `${agent} fails what ${other} passes: ${worse.join(", ")}`,
        );
      }
    }
  }
  return lines.join("\n");
}

/** Case ids that `mine` does not pass and `theirs` does. */
export function regressions(
  mine: Record<string, CaseResult>,
  theirs: Record<string, CaseResult>,
): string[] {
  return Object.keys(mine).sort(byCaseId).filter((id) =>
    !passed(mine[id]) && theirs[id] !== undefined && passed(theirs[id])
  );
}

function formatTable(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) =>
    Math.max(...rows.map((r) => r[c].length))
  );
  return rows.map((row) =>
    row.map((cell, c) =>
      c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])
    )
      .join("  ")
  );
}
