// Run by vitest (unit project): the boundary rule reports what it must and nothing else.
import { RuleTester } from 'eslint';
import { describe, it } from 'vitest';
import rule from './import-boundaries.js';

RuleTester.describe = describe;
RuleTester.it = it;
const tester = new RuleTester({ languageOptions: { ecmaVersion: 2022, sourceType: 'module' } });
const root = process.cwd();

tester.run('import-boundaries', rule, {
  valid: [
    { filename: `${root}/src/main/services/a.ts`, code: "import x from '../../shared/fleet.js';" },
    { filename: `${root}/server/src/app.ts`, code: "import x from '../../src/shared/fleet.js';" },
    { filename: `${root}/sim/index.ts`, code: "import x from './simulation.js';" },
    { filename: `${root}/src/renderer/src/main.tsx`, code: "import x from 'react';" },
    { filename: `${root}/test/e2e/x.test.ts`, code: "import x from '../../server/src/app.js';" },
  ],
  invalid: [
    {
      filename: `${root}/src/main/services/a.ts`,
      code: "import x from '../../../server/src/app.js';",
      errors: [{ messageId: 'crossRuntime' }],
    },
    {
      filename: `${root}/src/renderer/src/a.ts`,
      code: "export * from '../../main/services/a.js';",
      errors: [{ messageId: 'crossRuntime' }],
    },
    { filename: `${root}/server/src/a.ts`, code: "const m = import('../../sim/simulation.js');", errors: [{ messageId: 'crossRuntime' }] },
    { filename: `${root}/src/shared/a.ts`, code: "import x from '../main/index.js';", errors: [{ messageId: 'sharedImportsRuntime' }] },
    { filename: `${root}/sim/a.ts`, code: "export { y } from '../src/preload/index.js';", errors: [{ messageId: 'crossRuntime' }] },
  ],
});
