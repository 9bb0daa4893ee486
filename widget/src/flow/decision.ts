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

export function interpretResult(result: DecryptResult, modelVersion: string): BlindScoreDecisionDetail {
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
