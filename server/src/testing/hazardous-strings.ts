/**
 * Strings that mean something to PostgreSQL's COPY text format (backslash, tab, newline, carriage return, `\N`,
 * `\.`), to SQL or to JSON (quotes, braces), and some that are merely not ASCII: for tests of bulk writers.
 */
export const HAZARDOUS_STRINGS: readonly string[] = [
  `it's "quoted"`,
  'back\\slash and \\N and \\.',
  'tab\there',
  'new\nline',
  'carriage\rreturn\r\n',
  'ünïcödé — 車 🚗',
  '\\',
  ' leading and trailing ',
  'comma, semicolon; {braces} [brackets]',
];
