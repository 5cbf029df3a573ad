// Lint, with the import boundaries of ARCHITECTURE.md enforced as errors (as VS Code does): a wrong import
// between runtimes fails `npm test`, not a review.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';

const runtimes = {
  shared: 'src/shared',
  main: 'src/main',
  preload: 'src/preload',
  renderer: 'src/renderer',
  server: 'server',
  sim: 'sim',
};

/** Each runtime may import only itself and src/shared. */
const zones = Object.entries(runtimes).flatMap(([name, dir]) =>
  Object.entries(runtimes)
    .filter(([other]) => other !== name && other !== 'shared')
    .map(([other, otherDir]) => ({
      target: `./${dir}`,
      from: `./${otherDir}`,
      message: `${name} must not import ${other} (see ARCHITECTURE.md, "Dependency direction")`,
    })),
).concat(
  Object.entries(runtimes)
    .filter(([name]) => name !== 'shared')
    .map(([name, dir]) => ({
      target: './src/shared',
      from: `./${dir}`,
      message: `src/shared holds contracts only and must not import ${name}`,
    })),
);

const nodeBuiltins = { group: ['node:*'], message: 'this code runs in a browser context: no Node built-ins' };

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'var/**', 'test-results/**', 'release/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    languageOptions: { globals: { ...globals.node } },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
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
          patterns: [{ group: ['node:*', 'fs', 'path', 'os', 'crypto', 'net', 'http'], message: 'src/shared is runtime-neutral: no Node built-ins' }],
        },
      ],
    },
  },
  {
    files: ['src/renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'the renderer reaches the host only through src/renderer/bridge' }], patterns: [nodeBuiltins] }],
    },
  },
  {
    // Only the Electron composition root (src/main/index.ts and src/main/electron/) may import electron.
    files: ['src/main/**/*.ts', 'server/**/*.ts', 'sim/**/*.ts'],
    ignores: ['src/main/index.ts', 'src/main/electron/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'only src/main/index.ts and src/main/electron/ may import electron' }] }],
    },
  },
);
