// ESLint rule: no raw SQL outside a component's data/ (ARCHITECTURE.md: api → domain → data; data/ holds the
// repositories and their SQL). Applies to server/src outside components/*/data/, platform/ (the database seam and
// the platform's own small stores live there), testing/ and tests (*.test.ts, *.test-helpers.ts set up rows directly).
// What it flags, without type information: any `x.query(…)` call (the Queryable/Db method that runs SQL), and
// `x.exec('…')` / `x.exec(`…`)` with a literal script (a RegExp's exec takes a variable or is called on a regex literal).
// A domain may still receive a transaction handle (`tx: Queryable`), open one with `db.transaction(…)` and pass it to
// data/ — only running statements is data/'s job.
import { relative, sep } from 'node:path';

const EXEMPT = [/^server\/src\/components\/[^/]+\/data\//, /^server\/src\/(platform|testing)\//, /\.test\.ts$/, /\.test-helpers\.ts$/];

function propertyName(callee) {
  if (callee.type !== 'MemberExpression') return null;
  if (!callee.computed && callee.property.type === 'Identifier') return callee.property.name;
  if (callee.computed && callee.property.type === 'Literal') return String(callee.property.value);
  return null;
}

const isStringArg = (arg) => arg && ((arg.type === 'Literal' && typeof arg.value === 'string') || arg.type === 'TemplateLiteral');

export default {
  meta: {
    type: 'problem',
    docs: { description: "keep the server's SQL in the components' data/ repositories" },
    schema: [],
    messages: {
      rawSql: 'raw SQL ({{method}}) belongs in a data/ repository of the component, not here',
    },
  },
  create(context) {
    const rel = relative(context.cwd, context.filename).split(sep).join('/');
    if (!rel.startsWith('server/src/') || EXEMPT.some((re) => re.test(rel))) return {};
    return {
      CallExpression(node) {
        const method = propertyName(node.callee);
        if (method === 'query') context.report({ node, messageId: 'rawSql', data: { method: '.query()' } });
        else if (method === 'exec' && node.callee.object.type !== 'Literal' && isStringArg(node.arguments[0])) {
          context.report({ node, messageId: 'rawSql', data: { method: '.exec()' } });
        }
      },
    };
  },
};
