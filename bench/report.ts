/**
 * How `deno task bench` prints its figures: every figure beside its target
 * and the ratio the target is judged on, with a verdict.
 *
 * @module
 */

/** A figure judged against a target. */
export interface Figure {
  metric: string;
  value: number;
  /** What the value is judged against: a target, or another server's value. */
  reference?: number;
  /**
   * The ratio to judge, when it is not `value / reference`: the median of
   * the ratios of interleaved pairs, say, each measured under the same load.
   */
  ratio?: number;
  /**
   * The target on `value / reference` when there is a reference, else on
   * `value` itself; and which way is good.
   */
  target?: { limit: number; higherIsBetter: boolean };
}

/** A number with about three significant digits. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? "-" : "never";
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** Whether `figure` meets its target; undefined when it has none. */
export function met(figure: Figure): boolean | undefined {
  if (!figure.target) return undefined;
  const judged = figure.reference === undefined
    ? figure.value
    : figure.ratio ?? figure.value / figure.reference;
  return figure.target.higherIsBetter
    ? judged >= figure.target.limit
    : judged <= figure.target.limit;
}

/** Prints `rows` under `header`, columns padded to fit. */
export function printTable(header: string[], rows: string[][]): void {
  const table = [header, ...rows];
  const widths = header.map((_, c) =>
    Math.max(...table.map((r) => (r[c] ?? "").length))
  );
  for (const row of table) {
    console.log(
      row.map((cell, c) =>
        c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])
      ).join("  ").trimEnd(),
    );
  }
}

/**
 * Prints figures as `metric, value, reference, ratio, target`. A figure
 * with a reference is judged on the ratio; one without, on its value
 * (the ratio is then value / target). The reference column is left out
 * when no figure has one.
 */
export function printFigures(
  figures: Figure[],
  referenceName: string,
): void {
  const withReference = figures.some((f) => f.reference !== undefined);
  const rows = figures.map((f) => {
    const ratio = f.reference !== undefined
      ? f.ratio ?? f.value / f.reference
      : f.target
      ? f.value / f.target.limit
      : NaN;
    const target = f.target
      ? `${f.target.higherIsBetter ? ">=" : "<="} ${f.target.limit}${
        f.reference !== undefined ? "x" : ""
      } ${met(f) ? "met" : "MISSED"}`
      : "";
    const reference = f.reference === undefined ? "" : fmt(f.reference);
    return [
      f.metric,
      fmt(f.value),
      ...(withReference ? [reference] : []),
      fmt(ratio),
      target,
    ];
  });
  printTable(
    [
      "metric",
      "value",
      ...(withReference ? [referenceName] : []),
      "ratio",
      "target",
    ],
    rows,
  );
}
