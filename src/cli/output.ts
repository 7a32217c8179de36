/** Human output by default, JSON when asked: the two ways every data-printing command speaks. */
export interface Output {
  json: boolean;
  /** Prints data: JSON on stdout with --json, otherwise the human rendering. */
  data(value: unknown, human: () => string): void;
  /** A human line on stdout (suppressed with --json so stdout stays parseable). */
  line(text: string): void;
  /** Progress and notes on stderr, always. */
  note(text: string): void;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    data(value, human) {
      process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human()}\n`);
    },
    line(text) {
      if (!json) process.stdout.write(`${text}\n`);
    },
    note(text) {
      process.stderr.write(`${text}\n`);
    },
  };
}

/** Plain aligned columns for terminals; no colours so that logs and pipes stay clean. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [render(headers), render(widths.map((w) => '-'.repeat(w))), ...rows.map(render)].join('\n');
}
