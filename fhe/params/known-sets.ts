/**
 * Names of the tfhe-rs 1.6.1 parameter sets the engine is tested with, recognised from the
 * values a server key carries. Used for labels (benchmarks, logs), never to pick parameters:
 * the engine always runs on what the key says.
 */
import type { ShortintParameters } from './parameters.ts';

interface KnownSet {
  readonly name: string;
  readonly matches: (p: ShortintParameters) => boolean;
}

const common22 = (p: ShortintParameters) =>
  p.glweDimension === 1 &&
  p.polynomialSize === 2048 &&
  p.pbsBaseLog === 23 &&
  p.pbsLevel === 1 &&
  p.messageModulus === 4 &&
  p.carryModulus === 4 &&
  p.maxDegree === 15 &&
  p.maxNoiseLevel === 5;

const KNOWN_SETS: readonly KnownSet[] = [
  {
    name: 'PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128',
    matches: (p) =>
      common22(p) && p.lweDimension === 918 && p.ksBaseLog === 4 && p.ksLevel === 4 && p.modulusSwitch.kind === 'centered_mean',
  },
  {
    name: 'V1_1_PARAM_MESSAGE_2_CARRY_2_KS_PBS_GAUSSIAN_2M128',
    matches: (p) =>
      common22(p) &&
      p.lweDimension === 866 &&
      p.ksBaseLog === 3 &&
      p.ksLevel === 5 &&
      p.modulusSwitch.kind === 'drift' &&
      p.modulusSwitch.zerosCount === 1446,
  },
];

/**
 * The tfhe-rs name of a recognised parameter set, or a compact description such as
 * `KS_PBS(n=918,k=1,N=2048,pbs=23x1,ks=4x4,m=4,c=4,ms=centered_mean)` otherwise.
 */
export function parameterSetName(p: ShortintParameters): string {
  const known = KNOWN_SETS.find((s) => s.matches(p));
  if (known) return known.name;
  return (
    `KS_PBS(n=${p.lweDimension},k=${p.glweDimension},N=${p.polynomialSize},` +
    `pbs=${p.pbsBaseLog}x${p.pbsLevel},ks=${p.ksBaseLog}x${p.ksLevel},` +
    `m=${p.messageModulus},c=${p.carryModulus},ms=${p.modulusSwitch.kind})`
  );
}
