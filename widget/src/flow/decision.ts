/**
 * Reads a decrypted result: the decision bit and the explanation bits. Bit i of the explanation
 * answers "approved with years employed in bin i, and bin i is at least the applicant's own", so
 * the smallest bin with bit 1 is the least employment that would likely flip a denial, and the
 * first 0 after it is where approval stops again: "at least N years" is only said when there is
 * none. Every bit of the bins from the applicant's own up is in the result, so this needs no
 * further run and no knowledge of the applicant's own bin.
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
  const firstIndex = approved ? -1 : bins.findIndex((b) => b.approved);
  const untilIndex = firstIndex < 0 ? -1 : bins.findIndex((b, i) => i > firstIndex && !b.approved);
  const lowerYears = (bin: string | undefined) => {
    const index = bin === undefined ? -1 : (YEARS_EMPLOYED_BINS as readonly string[]).indexOf(bin);
    return index >= 0 ? (YEARS_EMPLOYED_BIN_LOWER[index] ?? null) : null;
  };
  const first = bins[firstIndex]?.bin;
  const until = bins[untilIndex]?.bin;
  return {
    decision: approved ? 'approved' : 'denied',
    approved,
    explanation: {
      minYearsEmployedBin: first ?? null,
      minYearsEmployed: lowerYears(first),
      untilYearsEmployedBin: until ?? null,
      untilYearsEmployed: lowerYears(until),
      bins,
    },
    modelVersion,
  };
}
