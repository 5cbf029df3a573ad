// ESLint rule: the server's own layering (ARCHITECTURE.md, "Dependency direction"), beside the runtime boundaries of
// import-boundaries.js. Under server/src:
// - a component (components/<name>/) is reached from outside (another component, app.ts, testing/, …) only through
//   its index.ts;
// - inside a component, api → domain → data, never back and never skipping domain (api must not import data);
//   model.ts (the component's shared entity types) is importable from every layer and imports none of them;
//   index.ts and the other files at the component's root (its wiring and entry points, e.g. a CLI) may import
//   every layer, and no layer imports them;
// - platform/ sits below every component: it never imports components/, nor the composition root app.ts outside
//   its tests (a platform test may boot the whole server, e.g. to check every route's permissions);
// - test support inside a component (anything there that is not a *.test.ts) must not import server/src/app.ts:
//   code that boots the server belongs in server/src/testing/.
// Decision for *.test.ts inside a component: a test tests its own component, so it may import any of its layers
// (and app.ts, which is how component tests boot the server); another component it still reaches through
// that component's index.ts.
// Relative imports are resolved against the importing file, however they are spelled.
import { dirname, relative, resolve, sep } from 'node:path';

const SERVER_SRC = 'server/src';
const LAYERS = ['api', 'domain', 'data'];
const APP = /^server\/src\/(app|start)(\.[jt]s)?$/;
const isTest = (rel) => /\.test\.ts$/.test(rel);

/** Where a server file sits: { area: 'platform' | 'component' | 'other', component?, part? } — part is a layer, 'model' or 'root'. */
function placeOf(rel) {
  if (!rel.startsWith(`${SERVER_SRC}/`)) return null;
  const inner = rel.slice(SERVER_SRC.length + 1);
  if (inner.startsWith('platform/')) return { area: 'platform' };
  const m = /^components\/([^/]+)\/(.+)$/.exec(inner);
  if (!m) return { area: 'other' };
  const [, component, rest] = m;
  const top = rest.split('/')[0];
  let part = 'root';
  if (LAYERS.includes(top) && rest.includes('/')) part = top;
  else if (/^model\.[jt]s$/.test(rest)) part = 'model';
  return { area: 'component', component, part, rest };
}

const toPosix = (p) => p.split(sep).join('/');

export default {
  meta: {
    type: 'problem',
    docs: { description: "enforce the server's layering: components through index.ts, api → domain → data inside one" },
    schema: [],
    messages: {
      deepImport: '{{from}} reaches component {{to}} only through its index.ts, not {{source}}',
      backImport:
        'inside a component, api → domain → data (model.ts below all, index.ts above all): {{fromPart}} must not import {{toPart}} ({{source}})',
      skipLayer: 'api must not import data ({{source}}): go through the domain, or move shared types/constants to model.ts',
      platformImportsComponent: 'platform/ sits below the components and must not import {{source}}',
      helperImportsApp: 'test support inside a component must not import app.ts ({{source}}): move it to server/src/testing/',
    },
  },
  create(context) {
    const root = context.cwd;
    const file = context.filename;
    const fromRel = toPosix(relative(root, file));
    const from = placeOf(fromRel);
    if (!from) return {};
    const test = isTest(fromRel);

    function check(node, source) {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const toRel = toPosix(relative(root, resolve(dirname(file), source)));
      const to = placeOf(toRel);
      if (!to) return;
      const report = (messageId, data = {}) => context.report({ node, messageId, data: { source, ...data } });

      if (from.area === 'platform') {
        if (to.area === 'component' || (APP.test(toRel) && !test)) report('platformImportsComponent');
        return;
      }
      const throughIndex = to.area !== 'component' || /^index(\.[jt]s)?$/.test(to.rest);
      if (from.area === 'other') {
        if (!throughIndex) report('deepImport', { from: fromRel.slice(SERVER_SRC.length + 1), to: to.component });
        return;
      }
      if (APP.test(toRel)) {
        if (!test) report('helperImportsApp');
        return;
      }
      if (to.area !== 'component') return;
      if (to.component !== from.component) {
        if (!throughIndex) report('deepImport', { from: `component ${from.component}`, to: to.component });
        return;
      }
      if (test || from.part === 'root') return;
      if (to.part === 'model') return;
      const fromIdx = from.part === 'model' ? LAYERS.length : LAYERS.indexOf(from.part);
      const toIdx = to.part === 'root' ? -1 : LAYERS.indexOf(to.part);
      if (toIdx < fromIdx) report('backImport', { fromPart: from.part, toPart: to.part === 'root' ? to.rest : to.part });
      else if (from.part === 'api' && to.part === 'data') report('skipLayer');
    }
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};
