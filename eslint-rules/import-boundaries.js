// ESLint rule: the import boundaries of ARCHITECTURE.md ("Dependency direction"). Each runtime may import only
// itself and src/shared; src/shared imports no runtime. Relative imports are resolved against the importing
// file, so `../../server/x.js` from src/main is caught however it is spelled.
import { dirname, relative, resolve, sep } from 'node:path';

/** Longest prefix first, so `src/shared` wins over a hypothetical `src`. */
const RUNTIMES = [
  ['shared', 'src/shared'],
  ['main', 'src/main'],
  ['preload', 'src/preload'],
  ['renderer', 'src/renderer'],
  ['server', 'server'],
  ['sim', 'sim'],
];

function runtimeOf(root, absPath) {
  const rel = relative(root, absPath).split(sep).join('/');
  for (const [name, dir] of RUNTIMES) if (rel === dir || rel.startsWith(`${dir}/`)) return name;
  return null;
}

export default {
  meta: {
    type: 'problem',
    docs: { description: 'enforce the runtime import boundaries of ARCHITECTURE.md' },
    schema: [],
    messages: {
      crossRuntime:
        '{{from}} must not import {{to}} ({{source}}): runtimes share code only through src/shared (ARCHITECTURE.md, "Dependency direction")',
      sharedImportsRuntime: 'src/shared holds contracts only and must not import {{to}} ({{source}})',
    },
  },
  create(context) {
    const root = context.cwd;
    const file = context.filename;
    const from = runtimeOf(root, file);
    if (!from) return {};
    function check(node, source) {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const to = runtimeOf(root, resolve(dirname(file), source));
      if (!to || to === from) return;
      if (from === 'shared') context.report({ node, messageId: 'sharedImportsRuntime', data: { to, source } });
      else if (to !== 'shared') context.report({ node, messageId: 'crossRuntime', data: { from, to, source } });
    }
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};
