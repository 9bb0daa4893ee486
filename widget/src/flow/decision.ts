/**
 * Reads a decrypted result: the decision bit and the explanation bits. Bit i of the explanation
 * answers "approved with years employed in bin i, and bin i is at least the applicant's own", so
 * the smallest bin with bit 1 is the least employment that would likely flip a denial.
 */
import { YEARS_EMPLOYED_BINS, YEARS_EMPLOYED_BIN_LOWER } from '../../../model/features.ts';
import type { DecryptResult } from '../crypto/worker-protocol.ts';
import { BlindScoreError } from '../errors.ts';
import type { BlindScoreDecisionDetail } from '../events.ts';

function bit(value: number, what: string): boolean {
  if (value !== 0 && value !== 1) throw new BlindScoreError('invalid_result', `${what} decrypted to ${value}, not a bit`);
  return value === 1;
}

/**
 * `expectedBins` are the manifest's explanation bin labels. The result's own labels come from the
 * server and say which bit means which years: a result that relabels or reorders them would turn
 * the explanation into a false promise, so anything but the manifest's labels, in order, is refused.
 */
export function interpretResult(result: DecryptResult, modelVersion: string, expectedBins: readonly string[]): BlindScoreDecisionDetail {
  if (result.bins.length !== expectedBins.length || result.bins.some((bin, i) => bin !== expectedBins[i])) {
    throw new BlindScoreError(
      'bad_response',
      `the result's explanation bins [${result.bins.join(', ')}] are not the manifest's [${expectedBins.join(', ')}]`,
    );
  }
  const approved = bit(result.decision, 'the decision');
  const bins = result.bins.map((bin, i) => ({ bin, approved: bit(result.explanation[i] ?? 0, `explanation bin ${bin}`) }));
  const first = approved ? undefined : bins.find((b) => b.approved);
  const index = first ? (YEARS_EMPLOYED_BINS as readonly string[]).indexOf(first.bin) : -1;
  return {
    decision: approved ? 'approved' : 'denied',
    approved,
    explanation: {
      minYearsEmployedBin: first?.bin ?? null,
      minYearsEmployed: index >= 0 ? (YEARS_EMPLOYED_BIN_LOWER[index] ?? null) : null,
      bins,
    },
    modelVersion,
  };
}
