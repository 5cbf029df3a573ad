// Lint, with the import boundaries of ARCHITECTURE.md enforced as errors (as VS Code does): a wrong import
// between runtimes fails `npm test`, not a review.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importBoundaries from './eslint-rules/import-boundaries.js';
import serverLayers from './eslint-rules/server-layers.js';
import serverSqlInData from './eslint-rules/server-sql-in-data.js';
import globals from 'globals';

const nodeBuiltins = { group: ['node:*'], message: 'this code runs in a browser context: no Node built-ins' };

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'var/**', 'test-results/**', 'release/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: {
      fleetdesk: { rules: { 'import-boundaries': importBoundaries, 'server-layers': serverLayers, 'server-sql-in-data': serverSqlInData } },
    },
    languageOptions: { globals: { ...globals.node } },
    rules: {
      'fleetdesk/import-boundaries': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // The server's own layering (components through index.ts; api → domain → data) and its SQL kept in data/.
    files: ['server/src/**/*.ts'],
    rules: {
      'fleetdesk/server-layers': 'error',
      'fleetdesk/server-sql-in-data': 'error',
    },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'src/shared is runtime-neutral' },
            { name: 'react', message: 'src/shared is runtime-neutral' },
            { name: 'react-dom', message: 'src/shared is runtime-neutral' },
          ],
          patterns: [
            { group: ['node:*', 'fs', 'path', 'os', 'crypto', 'net', 'http'], message: 'src/shared is runtime-neutral: no Node built-ins' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'the renderer reaches the host only through src/renderer/bridge' }],
          patterns: [nodeBuiltins],
        },
      ],
    },
  },
  {
    // Only the Electron composition root (src/main/index.ts and src/main/electron/) may import electron.
    files: ['src/main/**/*.ts', 'server/**/*.ts', 'sim/**/*.ts'],
    ignores: ['src/main/index.ts', 'src/main/electron/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'electron', message: 'only src/main/index.ts and src/main/electron/ may import electron' }] },
      ],
    },
  },
);
