// Browser suites: the <blind-score> element and its crypto worker in Debian's Chromium. Happy
// paths run against the real gateway (workerd through wrangler) and the real evaluator, started
// on demand by the runner (server/real-stack.ts); failures that must be produced on demand run
// against a scripted test gateway, and a node-tfhe oracle is served by the runner itself. Run
// through `npm run test:browser`, which loads tsx so this config can import the TypeScript servers.
import { fileURLToPath } from 'node:url';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../support/chromium.ts';
import { cspMiddleware, screenshotPlugin, testServerMiddleware } from './server/plugin.ts';
import { realStack } from './server/real-stack.ts';

const rootDir = fileURLToPath(new URL('../..', import.meta.url));

const stack = realStack();

const chromiumArgs = [...CHROMIUM_ARGS, '--window-size=1280,1000'];

export default {
  rootDir,
  files: ['tests/browser/**/*.test.ts'],
  nodeResolve: true,
  // Suites generate multi-second TFHE keys: one file at a time on the 2-core machine.
  concurrency: 1,
  middleware: [await testServerMiddleware(), stack.middleware, cspMiddleware()],
  plugins: [
    esbuildPlugin({ ts: true, target: 'es2022', tsconfig: fileURLToPath(new URL('./tsconfig.json', import.meta.url)) }),
    screenshotPlugin(),
    stack.plugin,
  ],
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: CHROMIUM_PATH,
        headless: true,
        args: chromiumArgs,
        defaultViewport: { width: 1280, height: 1000 },
      },
    }),
  ],
  testFramework: { config: { timeout: 180_000 } },
  testsFinishTimeout: 1_200_000,
  browserStartTimeout: 120_000,
};
