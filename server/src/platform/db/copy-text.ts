/**
 * The input of `COPY … FROM STDIN` in PostgreSQL's text format (the default format): one line per row, columns
 * separated by a tab, `\N` for NULL, and backslash escapes for the characters that would otherwise end a column
 * or a row (https://www.postgresql.org/docs/current/sql-copy.html, "Text Format").
 */

/** A value COPY text can carry: JSON-able objects and arrays are written as their JSON text (for json/jsonb). */
export type CopyValue = string | number | boolean | bigint | Date | null | undefined | object;

/** Backslash, newline, carriage return and tab are the characters the text format gives a meaning to. */
const SPECIAL = /[\\\n\r\t]/;
const SPECIAL_ALL = /[\\\n\r\t]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A string as one column (escaped: it can never end a column, a row or the data early). */
export function copyString(s: string): string {
  return SPECIAL.test(s) ? s.replace(SPECIAL_ALL, (c) => ESCAPES[c]!) : s;
}

/**
 * One column. Numbers as JavaScript prints them (PostgreSQL reads `NaN`, `Infinity`, `1e+21` for float8; an
 * integer column needs an integer), booleans as t/f, dates as ISO 8601 (UTC) for timestamptz, null/undefined as NULL.
 */
export function copyValue(v: CopyValue): string {
  switch (typeof v) {
    case 'string':
      return copyString(v);
    case 'number':
    case 'bigint':
      return String(v);
    case 'boolean':
      return v ? 't' : 'f';
    case 'undefined':
      return '\\N';
    default:
      if (v === null) return '\\N';
      if (v instanceof Date) return v.toISOString();
      return copyString(JSON.stringify(v));
  }
}

/** Rows → the whole COPY input (each row's columns in the order of the COPY's column list). */
export function copyText<T>(rows: readonly T[], columns: (row: T) => readonly CopyValue[]): string {
  // One string per row, joined once at the end: cheaper than growing one string column by column.
  const lines = new Array<string>(rows.length + 1);
  for (let i = 0; i < rows.length; i++) lines[i] = columns(rows[i]!).map(copyValue).join('\t');
  lines[rows.length] = ''; // the input ends with a newline
  return lines.join('\n');
}
