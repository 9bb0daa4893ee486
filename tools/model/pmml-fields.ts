/**
 * The field side of the PMML importer: which BlindScore feature a PMML field is, and what one
 * predicate on it means over that feature's values, as a "literal":
 *
 * - numeric features: `x < cut` (or its negation), `cut` chosen so that the literal holds for
 *   exactly the values the PMML predicate holds for (`x ≤ c` is `x < nextUp(c)`; integer
 *   features round; a `float` cast compares `Math.fround(x)`);
 * - booleans and categories: the set of the feature's values that satisfy the predicate;
 * - or a constant, when the predicate holds for all values of the feature or for none.
 *
 * Browser-safe.
 */
import { ModelError } from '../../model/errors.ts';
import { FEATURE_NAMES, FEATURE_SPECS, type FeatureName } from '../../model/features.ts';
import { CSV_COLUMNS } from './columns.ts';
import { float32LessThanCut, nextUp } from './float.ts';
import type { PmmlPredicate, PmmlTreeDocument } from './pmml.ts';

/** One value of a boolean or categorical feature, with how a PMML document may spell it. */
interface FiniteValue {
  label: string;
  /** The value's number when the field is numeric in PMML (booleans 0/1, years-employed bin 0–5). */
  number: number | null;
  matches: (pmml: string) => boolean;
}

export type Domain =
  | { kind: 'numeric'; feature: FeatureName; integer: boolean; min: number; max: number }
  | { kind: 'finite'; feature: FeatureName; values: FiniteValue[]; fixedOrder: boolean };

/**
 * What a predicate says about one feature. `numeric`: holds iff `(x < cut) === below`.
 * `finite`: holds iff the value's bit is set in `members` (bit i = the feature's i-th value).
 */
export type Literal =
  | { kind: 'const'; value: boolean }
  | { kind: 'numeric'; feature: FeatureName; cut: number; below: boolean }
  | { kind: 'finite'; feature: FeatureName; members: number };

const isNumber = (s: string) => /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(s);
const BOOLEAN_WORDS = [
  ['0', 'false', 'no', 'n'],
  ['1', 'true', 'yes', 'y'],
] as const;

/** The values of a boolean or categorical feature, in code order for fixed-order features. */
export function domainOf(feature: FeatureName): Domain {
  const spec = FEATURE_SPECS[feature];
  if (spec.kind === 'integer' || spec.kind === 'number') {
    return { kind: 'numeric', feature, integer: spec.kind === 'integer', min: spec.min, max: spec.max };
  }
  if (spec.kind === 'boolean') {
    const values = BOOLEAN_WORDS.map((words, i) => ({
      label: i === 1 ? 'true' : 'false',
      number: i,
      matches: (s: string) => (words as readonly string[]).includes(s.trim().toLowerCase()) || (isNumber(s) && Number(s) === i),
    }));
    return { kind: 'finite', feature, values, fixedOrder: true };
  }
  if (spec.kind !== 'category') throw new TypeError(`unexpected feature kind of ${feature}`);
  // Years employed keeps its bin order: the explanation compares bins. The seed stores the index.
  const years = feature === 'years_employed';
  const values = spec.values.map((label, i) => ({
    label,
    number: years ? i : null,
    matches: (s: string) => s === label || (years && isNumber(s) && Number(s) === i),
  }));
  return { kind: 'finite', feature, values, fixedOrder: years };
}

const normalize = (s: string) => s.trim().toLowerCase();
const FEATURE_BY_NAME = new Map<string, FeatureName>(
  FEATURE_NAMES.flatMap((f) => [
    [normalize(f), f],
    [normalize(CSV_COLUMNS[f]), f],
  ]),
);

/** A feature by its snake_case name or the seed's column name (case-insensitive). */
export function featureNamed(name: string): FeatureName | undefined {
  return FEATURE_BY_NAME.get(normalize(name));
}

/** A PMML field resolved to a feature, through any casts. */
export interface ResolvedField {
  feature: FeatureName;
  /** The PMML data field the value comes from. */
  dataField: string;
  /** A `float` cast on the way: the tree compares `Math.fround(x)`. */
  float32: boolean;
}

/**
 * Resolves PMML field names to features: `fieldMap` first (PMML name → feature), then the
 * feature's own or seed column name. Casts (`DerivedField` over one `FieldRef`) are followed.
 */
export class FieldResolver {
  private readonly cache = new Map<string, ResolvedField>();
  private readonly byFeature = new Map<FeatureName, string>();
  private readonly fieldMap: Map<string, FeatureName>;

  constructor(
    private readonly doc: PmmlTreeDocument,
    fieldMap: Readonly<Record<string, string>>,
  ) {
    this.fieldMap = new Map(
      Object.entries(fieldMap).map(([from, to]) => {
        const feature = featureNamed(to);
        if (!feature) {
          throw new ModelError('unknown_field', `field map ${from}=${to}: ${to} is not a feature (${FEATURE_NAMES.join(', ')})`, {
            field: from,
          });
        }
        return [from, feature];
      }),
    );
  }

  /** @throws ModelError `unknown_field` | `invalid_pmml` | `unsupported_pmml`, naming `where`. */
  resolve(field: string, where: string): ResolvedField {
    const hit = this.cache.get(field);
    if (hit) return hit;
    let name = field;
    let float32 = false;
    let integerCast = false;
    for (let hops = 0; !this.doc.dataFields.has(name); hops++) {
      const cast = this.doc.casts.get(name);
      if (!cast || hops > 16) {
        throw new ModelError(
          'unknown_field',
          `${where}: field "${field}" is neither a DataField nor a cast of one (derived fields other than a FieldRef cast are not supported)`,
          { field, where },
        );
      }
      if (!['double', 'float', 'integer', 'string'].includes(cast.dataType)) {
        throw new ModelError('unsupported_pmml', `${where}: field "${field}" casts to ${cast.dataType}, which is not supported`, {
          field,
          where,
        });
      }
      if (cast.dataType === 'float') float32 = true;
      if (cast.dataType === 'integer') integerCast = true;
      name = cast.source;
    }
    // A float DataField holds float32 values (JPMML-SkLearn declares sklearn's inputs so).
    if (this.doc.dataFields.get(name)!.dataType === 'float') float32 = true;
    const feature = this.fieldMap.get(name) ?? featureNamed(name);
    if (!feature) {
      throw new ModelError(
        'unknown_field',
        `${where}: field "${name}" is not a BlindScore feature (features: ${FEATURE_NAMES.join(', ')}, or the seed's column names); map it with --field-map "${name}=<feature>"`,
        { field: name, where },
      );
    }
    if (integerCast && FEATURE_SPECS[feature].kind === 'number') {
      throw new ModelError('unsupported_pmml', `${where}: field "${field}" casts ${feature}, a decimal feature, to integer`, {
        field,
        where,
      });
    }
    const previous = this.byFeature.get(feature);
    if (previous !== undefined && previous !== name) {
      throw new ModelError('unknown_field', `fields "${previous}" and "${name}" both map to feature ${feature}`, {
        field: name,
        where,
      });
    }
    this.byFeature.set(feature, name);
    const resolved = { feature, dataField: name, float32 };
    this.cache.set(field, resolved);
    return resolved;
  }
}

function unknownValue(where: string, domain: Domain & { kind: 'finite' }, value: string): never {
  throw new ModelError(
    'unknown_value',
    `${where}: ${JSON.stringify(value)} is not a value of ${domain.feature} (${domain.values.map((v) => v.label).join(', ')})`,
    { where, feature: domain.feature, value },
  );
}

/** The bit set of the domain's values that a PMML value string names. */
export function valueBits(domain: Domain & { kind: 'finite' }, value: string, where: string): number {
  const bits = domain.values.reduce((acc, v, i) => (v.matches(value) ? acc | (1 << i) : acc), 0);
  if (bits === 0) unknownValue(where, domain, value);
  return bits;
}

function parseNumber(value: string | null, where: string, field: string): number {
  if (value === null || !isNumber(value)) {
    throw new ModelError('invalid_pmml', `${where}: ${field} is compared with ${JSON.stringify(value)}, which is not a number`, {
      where,
    });
  }
  const n = Number(value);
  // "1e999" has the form of a number but no double value: no cut can be placed at it.
  if (!Number.isFinite(n)) {
    throw new ModelError('invalid_pmml', `${where}: ${field} is compared with ${JSON.stringify(value)}, which is out of range`, { where });
  }
  return n;
}

type Comparison = 'lessThan' | 'lessOrEqual' | 'greaterThan' | 'greaterOrEqual';
const compare: Record<Comparison, (x: number, c: number) => boolean> = {
  lessThan: (x, c) => x < c,
  lessOrEqual: (x, c) => x <= c,
  greaterThan: (x, c) => x > c,
  greaterOrEqual: (x, c) => x >= c,
};

/** The numeric literal of a comparison, folded to a constant outside the feature's range. */
function numericLiteral(domain: Domain & { kind: 'numeric' }, op: Comparison, c: number, float32: boolean): Literal {
  // `x < cut` for lessThan / lessOrEqual; greater* are their negations.
  const strict = op === 'lessThan' || op === 'greaterOrEqual';
  let cut: number;
  if (domain.integer)
    cut = strict ? Math.ceil(c) : Math.floor(c) + 1; // fround is exact on these small integers
  else if (float32) cut = float32LessThanCut(strict ? c : nextUp(c));
  else cut = strict ? c : nextUp(c);
  const below = op === 'lessThan' || op === 'lessOrEqual';
  if (cut <= domain.min) return { kind: 'const', value: !below };
  if (cut > domain.max) return { kind: 'const', value: below };
  return { kind: 'numeric', feature: domain.feature, cut, below };
}

function finiteLiteral(domain: Domain & { kind: 'finite' }, members: number): Literal {
  const all = (1 << domain.values.length) - 1;
  if (members === 0) return { kind: 'const', value: false };
  if (members === all) return { kind: 'const', value: true };
  return { kind: 'finite', feature: domain.feature, members };
}

/**
 * The literal of a simple or set predicate on a resolved field.
 * @throws ModelError `unknown_value` | `unrepresentable_split` | `invalid_pmml`, naming `where`.
 */
export function literalOf(predicate: PmmlPredicate & { kind: 'simple' | 'set' }, field: ResolvedField, where: string): Literal {
  const domain = domainOf(field.feature);
  const what = `${where}: ${predicate.field} ${predicate.operator}`;
  if (predicate.kind === 'simple' && (predicate.operator === 'isMissing' || predicate.operator === 'isNotMissing')) {
    // Every feature is required by the schema, so no value is ever missing.
    return { kind: 'const', value: predicate.operator === 'isNotMissing' };
  }
  if (domain.kind === 'finite') {
    if (predicate.kind === 'set') {
      const bits = predicate.values.reduce((acc, v) => acc | valueBits(domain, v, where), 0);
      return finiteLiteral(domain, predicate.operator === 'isIn' ? bits : ~bits & ((1 << domain.values.length) - 1));
    }
    const op = predicate.operator;
    if (op === 'equal' || op === 'notEqual') {
      const bits = valueBits(domain, predicate.value!, where);
      return finiteLiteral(domain, op === 'equal' ? bits : ~bits & ((1 << domain.values.length) - 1));
    }
    const c = parseNumber(predicate.value, where, predicate.field);
    const members = domain.values.reduce((acc, v, i) => {
      if (v.number === null) {
        throw new ModelError('unrepresentable_split', `${what} compares a categorical feature (${domain.feature}) by order`, {
          where,
          feature: domain.feature,
        });
      }
      return compare[op as Comparison](v.number, c) ? acc | (1 << i) : acc;
    }, 0);
    return finiteLiteral(domain, members);
  }
  if (predicate.kind === 'set') {
    throw new ModelError('unrepresentable_split', `${what} tests a numeric feature (${domain.feature}) for set membership`, {
      where,
      feature: domain.feature,
    });
  }
  const c = parseNumber(predicate.value, where, predicate.field);
  const op = predicate.operator;
  if (op === 'equal' || op === 'notEqual') {
    // x = c is the interval [c, c]: one threshold only at either end of an integer range.
    const holds = op === 'equal';
    const possible = c >= domain.min && c <= domain.max && (!domain.integer || Number.isInteger(c));
    if (!possible) return { kind: 'const', value: !holds };
    if (domain.integer && c === domain.min) return numericLiteral(domain, holds ? 'lessOrEqual' : 'greaterThan', c, false);
    if (domain.integer && c === domain.max) return numericLiteral(domain, holds ? 'greaterOrEqual' : 'lessThan', c, false);
    throw new ModelError('unrepresentable_split', `${what} ${c} on ${domain.feature} is an interval, not one threshold`, {
      where,
      feature: domain.feature,
    });
  }
  return numericLiteral(domain, op as Comparison, c, field.float32);
}
