import { ConsulOutputError } from '../api/output-error.js';

/** One row of a CLI table, keyed by the header's column name (`Commit Index`, `DC`). */
export type TableRow = ReadonlyMap<string, string>;

export interface Table {
  readonly headers: readonly string[];
  readonly rows: readonly TableRow[];
}

/** Columns are separated by a tab or by two or more spaces; single spaces live inside names. */
const GAP = /\t+| {2,}/;

/**
 * Parses the aligned tables the Consul CLI prints (`consul members`, `list-peers`). Columns are
 * found by header name, never by position, because Consul adds columns across versions. A row
 * whose cells split cleanly gets them in order; a row with an empty cell (which collapses the
 * gap) is cut at the header's column offsets instead, since the CLI left-aligns every column.
 */
export function parseTable(text: string, source: string): Table {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const headerLine = lines[0];
  if (headerLine === undefined) throw new ConsulOutputError(source, 'printed nothing');
  const headers = headerLine.trim().split(GAP);
  const offsets = columnOffsets(headerLine, headers);
  const rows = lines.slice(1).map((line) => {
    let cells = line.trim().split(GAP);
    if (cells.length !== headers.length && offsets && !line.includes('\t')) {
      cells = offsets.map((start, i) => line.slice(start, offsets[i + 1] ?? line.length).trim());
    }
    if (cells.length !== headers.length) {
      throw new ConsulOutputError(
        source,
        `row "${line.trim()}" has ${cells.length} cells but the header has ${headers.length} columns`,
      );
    }
    return new Map(headers.map((h, i) => [h, cells[i] ?? '']));
  });
  return { headers, rows };
}

/** Where each header starts in the header line, or undefined when the header is tab-separated. */
function columnOffsets(line: string, headers: readonly string[]): number[] | undefined {
  if (line.includes('\t')) return undefined;
  const offsets: number[] = [];
  let from = 0;
  for (const h of headers) {
    const at = line.indexOf(h, from);
    if (at < 0) return undefined;
    offsets.push(at);
    from = at + h.length;
  }
  return offsets;
}

/** The cell of a required column; a missing column means this is not the table we asked for. */
export function requiredCell(row: TableRow, column: string, source: string): string {
  const v = row.get(column);
  if (v === undefined) throw new ConsulOutputError(source, `no "${column}" column in the header`);
  return v;
}

export function requireColumns(table: Table, columns: readonly string[], source: string): void {
  const missing = columns.filter((c) => !table.headers.includes(c));
  if (missing.length > 0) {
    throw new ConsulOutputError(
      source,
      `the table has no ${missing.map((m) => `"${m}"`).join(', ')} column (header: ${table.headers.join(', ')})`,
    );
  }
}
