import { styleText } from 'node:util';
import { formatAmount } from '../notify/format.ts';

/** Colours only for a person at a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function colourOn(): boolean {
  const noColour = process.env.NO_COLOR;
  return !!process.stdout.isTTY && (noColour === undefined || noColour === '');
}

type Style = 'bold' | 'dim' | 'green' | 'red' | 'yellow' | 'cyan';

export function paint(style: Style, text: string): string {
  return colourOn() ? styleText(style, text) : text;
}

export function line(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/** `--json`: the gateway's answer as it came, indented, for `jq` and scripts. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export type Cell = string | number | boolean | null | undefined;

const text = (cell: Cell): string =>
  cell === null || cell === undefined || cell === '' ? '-' : String(cell);

/** Colour for a status word, so pending, failed and succeeded stand apart at a glance. */
export function statusColour(status: Cell): string {
  const word = text(status);
  if (/^(succeeded|approved|auto_approve|active|pass|valid)$/.test(word)) return paint('green', word);
  if (/^(failed|rejected|reject|revoked|expired|fail|archived)$/.test(word)) return paint('red', word);
  if (/^(pending|pending_approval|approval|queued|queue|unknown|executing)/.test(word))
    return paint('yellow', word);
  return word;
}

/**
 * An aligned table: a header row, then one row per item; columns padded to their widest cell
 * (colour is applied after padding, so escape codes never shift a column). `empty` is printed
 * instead when there are no rows.
 */
export function table<T>(
  rows: readonly T[],
  columns: readonly { header: string; value: (row: T) => Cell; colour?: (cell: string) => string }[],
  empty: string,
): void {
  if (rows.length === 0) {
    line(empty);
    return;
  }
  const cells = rows.map((row) => columns.map((c) => text(c.value(row))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] ?? '').length)));
  const render = (values: string[], colour: (cell: string, i: number) => string) =>
    values
      .map((v, i) => {
        const padded = i === values.length - 1 ? v : v.padEnd(widths[i] ?? 0);
        return colour(padded, i);
      })
      .join('  ')
      .trimEnd();
  line(
    render(
      columns.map((c) => c.header),
      (cell) => paint('bold', cell),
    ),
  );
  for (const row of cells) {
    line(render(row, (cell, i) => columns[i]?.colour?.(cell) ?? cell));
  }
}

/** `label  value` lines, labels aligned: one record shown in full. */
export function fields(pairs: readonly [string, Cell][]): void {
  const width = Math.max(...pairs.map(([label]) => label.length));
  for (const [label, value] of pairs) line(`${paint('dim', label.padEnd(width))}  ${text(value)}`);
}

/** A status colour that keeps the padding it is given (for table cells). */
export const statusCell = (cell: string): string => {
  const word = cell.trimEnd();
  return statusColour(word) + cell.slice(word.length);
};

/**
 * Integer minor units as the console shows them on transactions and approvals (`USD 12.50`, `JPY
 * 1250`: the currency's own decimals), with the same function; null (a `-` cell) without an amount.
 */
export function money(amount: unknown, currency: unknown): string | null {
  if (typeof amount !== 'number' || !Number.isInteger(amount)) return null;
  return formatAmount(amount, typeof currency === 'string' ? currency : null);
}
