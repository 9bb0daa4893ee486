/**
 * The `npm start` stack for a suite: the same `DemoStack` the command runs, on free loopback
 * ports, with its page, gateway state and logs in a fresh temporary directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateStackOptions } from '../../../demo/options.ts';
import { freePorts } from '../../../demo/ports.ts';
import { startStack, type DemoStack } from '../../../demo/stack.ts';

export interface TestStack {
  stack: DemoStack;
  dispose(): Promise<void>;
}

export async function startTestStack(): Promise<TestStack> {
  const runDir = mkdtempSync(join(tmpdir(), 'blindscore-e2e-'));
  const [port, gatewayPort, evaluatorPort] = await freePorts(3);
  const options = validateStackOptions({ port, gatewayPort, evaluatorPort, runDir });
  let stack: DemoStack;
  try {
    stack = await startStack(options);
  } catch (e) {
    rmSync(runDir, { recursive: true, force: true });
    throw e;
  }
  return {
    stack,
    async dispose() {
      await stack.close();
      // BLINDSCORE_E2E_KEEP_LOGS=1 keeps the services' logs (and the rest of the run) for a look.
      if (process.env['BLINDSCORE_E2E_KEEP_LOGS'] === '1') console.info(`e2e run directory kept: ${runDir}`);
      else rmSync(runDir, { recursive: true, force: true });
    },
  };
}
