// Run by vitest (unit project): raw SQL is reported outside data/ and nowhere else.
import { RuleTester } from 'eslint';
import { describe, it } from 'vitest';
import rule from './server-sql-in-data.js';

RuleTester.describe = describe;
RuleTester.it = it;
const tester = new RuleTester({ languageOptions: { ecmaVersion: 2022, sourceType: 'module' } });
const s = `${process.cwd()}/server/src`;
const query = "export const f = (db) => db.query('select 1', []);";

tester.run('server-sql-in-data', rule, {
  valid: [
    { filename: `${s}/components/a/data/a.repository.ts`, code: query },
    { filename: `${s}/components/a/data/a.repository.ts`, code: 'export const f = (tx) => tx.exec(`create table t ()`);' },
    { filename: `${s}/platform/db/migrate.ts`, code: query },
    { filename: `${s}/testing/auth.ts`, code: query },
    { filename: `${s}/components/a/a.test.ts`, code: query },
    { filename: `${s}/components/a/a.test-helpers.ts`, code: query },
    // a domain opens a transaction and hands it to data/
    { filename: `${s}/components/a/domain/a.ts`, code: 'export const f = (db, repo) => db.transaction((tx) => repo.insert(tx, 1));' },
    // RegExp#exec is not SQL
    { filename: `${s}/components/a/domain/a.ts`, code: "export const f = (v) => /^(\\d+)$/.exec(v) ?? PATTERN.exec(v) ?? /x/.exec('x');" },
    // not the server
    { filename: `${process.cwd()}/sim/a.ts`, code: query },
  ],
  invalid: [
    { filename: `${s}/components/a/index.ts`, code: query, errors: [{ messageId: 'rawSql' }] },
    { filename: `${s}/components/a/domain/a.ts`, code: 'export const f = (tx, SQL) => tx.query(SQL);', errors: [{ messageId: 'rawSql' }] },
    {
      filename: `${s}/components/a/api/a.routes.ts`,
      code: "export const f = (db) => db['query']('select 1');",
      errors: [{ messageId: 'rawSql' }],
    },
    {
      filename: `${s}/components/a/domain/a.ts`,
      code: "export const f = (db) => db.exec('delete from t');",
      errors: [{ messageId: 'rawSql' }],
    },
    { filename: `${s}/app.ts`, code: query, errors: [{ messageId: 'rawSql' }] },
  ],
});
