// Run by vitest (unit project): the server layering rule reports what it must and nothing else.
import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, it } from 'vitest';
import rule from './server-layers.js';

RuleTester.describe = describe;
RuleTester.it = it;
// the TypeScript parser, so that `import type` is tested as the server spells it
const tester = new RuleTester({ languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' } });
const c = `${process.cwd()}/server/src/components`;

tester.run('server-layers', rule, {
  valid: [
    // another component through its index.ts
    { filename: `${c}/a/domain/x.ts`, code: "import { y } from '../../b/index.js';" },
    { filename: `${c}/a/x.ts`, code: "import type { Y } from '../b/index.js';" },
    // down the layers, and model.ts from every layer
    { filename: `${c}/a/api/x.routes.ts`, code: "import { y } from '../domain/y.js';" },
    { filename: `${c}/a/domain/x.ts`, code: "import { y } from '../data/y.repository.js';" },
    { filename: `${c}/a/domain/x.ts`, code: "import { y } from './y.js';" },
    { filename: `${c}/a/api/x.routes.ts`, code: "import type { Y } from '../model.js';" },
    { filename: `${c}/a/domain/x.ts`, code: "import type { Y } from '../model.js';" },
    { filename: `${c}/a/data/x.repository.ts`, code: "import type { Y } from '../model.js';" },
    { filename: `${c}/a/data/x.repository.ts`, code: "import { q } from '../../../platform/db/index.js';" },
    // the wiring imports every layer
    {
      filename: `${c}/a/index.ts`,
      code: "import { r } from './api/x.routes.js'; import { s } from './domain/s.js'; import { t } from './data/t.repository.js'; export * from './model.js';",
    },
    // a component's tests: any of its layers, app.ts to boot the server
    { filename: `${c}/a/data/x.repository.test.ts`, code: "import { y } from '../domain/y.js';" },
    { filename: `${c}/a/a.test.ts`, code: "import { startServer } from '../../app.js'; import { y } from './api/y.routes.js';" },
    // platform: its own code and the shared contracts; its tests may boot the server
    {
      filename: `${c}/../platform/http/x.ts`,
      code: "import { y } from '../db/index.js'; import { e } from '../../../../src/shared/errors.js';",
    },
    { filename: `${c}/../platform/http/x.test.ts`, code: "import { startServer } from '../../app.js';" },
    // server test support lives in testing/ and may import app.ts
    { filename: `${c}/../testing/x.ts`, code: "import type { ServerHandle } from '../app.js';" },
    { filename: `${c}/../app.ts`, code: "import { a } from './components/a/index.js';" },
    { filename: `${c}/../testing/payments.ts`, code: "import type { P } from '../components/payments/index.js';" },
    // not the server
    { filename: `${process.cwd()}/sim/x.ts`, code: "import { y } from '../server/src/components/a/domain/y.js';" },
  ],
  invalid: [
    { filename: `${c}/a/x.ts`, code: "import { y } from '../b/domain/y.js';", errors: [{ messageId: 'deepImport' }] },
    { filename: `${c}/a/domain/x.ts`, code: "export { y } from '../../b/model.js';", errors: [{ messageId: 'deepImport' }] },
    { filename: `${c}/a/a.test.ts`, code: "import { y } from '../b/data/y.repository.js';", errors: [{ messageId: 'deepImport' }] },
    { filename: `${c}/../app.ts`, code: "import { y } from './components/a/domain/y.js';", errors: [{ messageId: 'deepImport' }] },
    {
      filename: `${c}/../testing/x.ts`,
      code: "import { y } from '../components/a/a.test-helpers.js';",
      errors: [{ messageId: 'deepImport' }],
    },
    { filename: `${c}/a/data/x.repository.ts`, code: "import type { Y } from '../domain/y.js';", errors: [{ messageId: 'backImport' }] },
    { filename: `${c}/a/data/x.repository.ts`, code: "import { y } from '../api/y.schema.js';", errors: [{ messageId: 'backImport' }] },
    { filename: `${c}/a/domain/x.ts`, code: "const m = import('../api/y.routes.js');", errors: [{ messageId: 'backImport' }] },
    { filename: `${c}/a/domain/x.ts`, code: "import { y } from '../index.js';", errors: [{ messageId: 'backImport' }] },
    { filename: `${c}/a/model.ts`, code: "export type { Y } from './domain/y.js';", errors: [{ messageId: 'backImport' }] },
    { filename: `${c}/a/api/x.routes.ts`, code: "import { y } from '../data/y.repository.js';", errors: [{ messageId: 'skipLayer' }] },
    {
      filename: `${c}/../platform/db/x.ts`,
      code: "import { y } from '../../components/a/index.js';",
      errors: [{ messageId: 'platformImportsComponent' }],
    },
    {
      filename: `${c}/../platform/x.ts`,
      code: "import { startServer } from '../app.js';",
      errors: [{ messageId: 'platformImportsComponent' }],
    },
    {
      filename: `${c}/a/a.test-helpers.ts`,
      code: "import type { ServerHandle } from '../../app.js';",
      errors: [{ messageId: 'helperImportsApp' }],
    },
    {
      filename: `${c}/a/test-support.ts`,
      code: "import { startServer } from '../../app.js';",
      errors: [{ messageId: 'helperImportsApp' }],
    },
    {
      filename: `${c}/a/domain/x.test-helpers.ts`,
      code: "import type { ServerHandle } from '../../../app.js';",
      errors: [{ messageId: 'helperImportsApp' }],
    },
  ],
});
