/**
 * CSV for people's spreadsheets (RFC 4180: comma-separated, CRLF line ends, fields with a comma, a quote or a line
 * break quoted, quotes doubled). A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return would be
 * read as a formula by Excel, LibreOffice or Google Sheets (CSV injection, OWASP): it gets a leading apostrophe,
 * which the spreadsheet shows as text.
 */

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One cell: null/undefined are empty, objects are written as JSON, everything else as its string. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One line, with its CRLF. */
export function csvLine(cells: readonly unknown[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}
