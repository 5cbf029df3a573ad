/** The grid's look through AG Grid's Theming API (no legacy CSS themes): dense, dark, matching the shell. */
import { colorSchemeDark, themeQuartz } from 'ag-grid-community';

export const vehicleGridTheme = themeQuartz.withPart(colorSchemeDark).withParams({
  backgroundColor: '#111923',
  foregroundColor: '#d6dde6',
  accentColor: '#38bdf8',
  borderColor: '#243142',
  headerBackgroundColor: '#16202c',
  headerTextColor: '#93a4b8',
  oddRowBackgroundColor: '#131c27',
  selectedRowBackgroundColor: 'rgba(250, 204, 21, 0.14)',
  rowHoverColor: 'rgba(56, 189, 248, 0.08)',
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
  fontSize: 12,
  headerFontSize: 11,
  headerFontWeight: 600,
  rowHeight: 30,
  headerHeight: 32,
  spacing: 5,
  wrapperBorder: false,
  wrapperBorderRadius: 0,
  browserColorScheme: 'dark',
});
