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

/** Where the CLI writes. Process streams normally; tests that run commands in-process swap them. */
export interface CliStreams {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

let streams: CliStreams = process;

export function cliStreams(): CliStreams {
  return streams;
}

/** Runs `work` with the CLI writing to `replacement` (only the CLI's own output; nothing else is captured). */
export async function withCliStreams<T>(replacement: CliStreams, work: () => Promise<T>): Promise<T> {
  const previous = streams;
  streams = replacement;
  try {
    return await work();
  } finally {
    streams = previous;
  }
}

export function createOutput(json: boolean): Output {
  return {
    json,
    data(value, human) {
      streams.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human()}\n`);
    },
    line(text) {
      if (!json) streams.stdout.write(`${text}\n`);
    },
    note(text) {
      streams.stderr.write(`${text}\n`);
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
