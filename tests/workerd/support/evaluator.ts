/** The real evaluator process with the workerd suites' shared secret (see tests/support/evaluator-process.ts). */
import { freePort, startEvaluatorProcess as start, type EvaluatorOptions, type EvaluatorProcess } from '../../support/evaluator-process.ts';
import { TEST_SHARED_SECRET } from './gateway.ts';

export { freePort, type EvaluatorProcess };

export function startEvaluatorProcess(port: number, options: Omit<EvaluatorOptions, 'secret'> = {}): Promise<EvaluatorProcess> {
  return start(port, { ...options, secret: TEST_SHARED_SECRET });
}
