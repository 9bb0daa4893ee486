/**
 * CSV import and export of labeled applications, in the seed application's columns
 * (`Own_car, …, Years_employed, Target`). A bank can train on its own data this way.
 *
 * Every cell is checked; errors name the line (1 = header) and the column, e.g.
 * `line 14, column Age: age must be at least 18`. Node-side (uses csv-parse).
 */
import { parse } from 'csv-parse/sync';
import { ModelError } from '../../model/errors.ts';
import { CreditFeatures, FEATURE_NAMES, FEATURE_SPECS, YEARS_EMPLOYED_BINS, type FeatureName } from '../../model/features.ts';
import { CSV_COLUMNS, CSV_TARGET_COLUMN } from './columns.ts';
import type { LabeledApplication } from './synthetic.ts';

/** One problem in a CSV file. */
export interface CsvIssue {
  /** 1-based line number; the header is line 1. */
  line: number;
  column?: string;
  message: string;
}

export interface CsvOptions {
  /** Refuse files with more data rows than this (default 1,000,000). */
  maxRows?: number;
  /** Stop collecting issues after this many (default 20). */
  maxIssues?: number;
  /**
   * Whether the `Target` column is required (default). Applicants to score have none; their
   * rows then read `approved: 0`.
   */
  requireTarget?: boolean;
}

const FEATURE_BY_COLUMN = new Map(FEATURE_NAMES.map((f) => [CSV_COLUMNS[f], f]));
const ALL_COLUMNS = [...FEATURE_NAMES.map((f) => CSV_COLUMNS[f]), CSV_TARGET_COLUMN];

function parseBoolean(cell: string): boolean | string {
  const v = cell.trim().toLowerCase();
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  return 'must be 0 or 1';
}

function parseNumber(cell: string): number | string {
  const v = cell.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) return `must be a number, got ${JSON.stringify(cell)}`;
  return Number(v);
}

/** A cell → the raw feature value, or an error message. */
function parseCell(feature: FeatureName, cell: string): boolean | number | string | { error: string } {
  const spec = FEATURE_SPECS[feature];
  if (spec.kind === 'boolean') {
    const b = parseBoolean(cell);
    return typeof b === 'string' ? { error: b } : b;
  }
  if (spec.kind === 'category') {
    const v = cell.trim();
    // The seed stores the years-employed bin as its index 0–5; a bin label is accepted too.
    if (feature === 'years_employed' && /^\d+$/.test(v)) {
      const bin = YEARS_EMPLOYED_BINS[Number(v)];
      return bin ?? { error: `bin index must be 0–${YEARS_EMPLOYED_BINS.length - 1}, got ${v}` };
    }
    return v;
  }
  const n = parseNumber(cell);
  return typeof n === 'string' ? { error: n } : n;
}

/**
 * Parses labeled applications from CSV text.
 * @throws ModelError `invalid_csv`; `details.issues` lists every problem found (up to `maxIssues`).
 */
export function parseApplicationsCsv(text: string, options: CsvOptions = {}): LabeledApplication[] {
  const maxRows = options.maxRows ?? 1_000_000;
  const maxIssues = options.maxIssues ?? 20;
  let records: string[][];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: false, to_line: maxRows + 2 });
  } catch (e) {
    const err = e as Error & { lines?: number };
    throw new ModelError('invalid_csv', `CSV is malformed${err.lines ? ` at line ${err.lines}` : ''}: ${err.message}`, {
      issues: [{ line: err.lines ?? 0, message: err.message }],
    });
  }
  if (records.length === 0) throw new ModelError('invalid_csv', 'CSV is empty: a header line is required');
  if (records.length > maxRows + 1) throw new ModelError('invalid_csv', `CSV has more than ${maxRows} data rows`);

  const header = records[0]!.map((h) => h.trim());
  const issues: CsvIssue[] = [];
  const requireTarget = options.requireTarget ?? true;
  const hasTarget = header.includes(CSV_TARGET_COLUMN);
  const missing = ALL_COLUMNS.filter((c) => !header.includes(c) && (requireTarget || c !== CSV_TARGET_COLUMN));
  const unknown = header.filter((h) => !ALL_COLUMNS.includes(h));
  const dup = header.filter((h, i) => header.indexOf(h) !== i);
  for (const c of missing) issues.push({ line: 1, column: c, message: 'column is missing' });
  for (const c of unknown) issues.push({ line: 1, column: c, message: 'unknown column' });
  for (const c of dup) issues.push({ line: 1, column: c, message: 'column appears twice' });
  if (issues.length > 0) throw csvError(issues);

  const index = new Map(header.map((h, i) => [h, i]));
  const rows: LabeledApplication[] = [];
  for (let r = 1; r < records.length && issues.length < maxIssues; r++) {
    const record = records[r]!;
    const line = r + 1;
    const raw: Record<string, unknown> = {};
    let rowOk = true;
    for (const [column, feature] of FEATURE_BY_COLUMN) {
      const v = parseCell(feature, record[index.get(column)!]!);
      if (typeof v === 'object') {
        issues.push({ line, column, message: v.error });
        rowOk = false;
      } else {
        raw[feature] = v;
      }
    }
    const target = hasTarget ? parseBoolean(record[index.get(CSV_TARGET_COLUMN)!]!) : false;
    if (typeof target === 'string') {
      issues.push({ line, column: CSV_TARGET_COLUMN, message: target });
      rowOk = false;
    }
    if (!rowOk) continue;
    const parsed = CreditFeatures.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const feature = issue.path[0] as FeatureName;
        issues.push({ line, column: CSV_COLUMNS[feature] ?? String(feature), message: issue.message });
      }
      continue;
    }
    rows.push({ features: parsed.data, approved: target ? 1 : 0 });
  }
  if (issues.length > 0) throw csvError(issues.slice(0, maxIssues));
  if (rows.length === 0) throw new ModelError('invalid_csv', 'CSV has a header but no data rows');
  return rows;
}

function csvError(issues: CsvIssue[]): ModelError {
  const text = issues
    .slice(0, 5)
    .map((i) => `line ${i.line}${i.column ? `, column ${i.column}` : ''}: ${i.message}`)
    .join('; ');
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
  return new ModelError('invalid_csv', `CSV is invalid: ${text}${more}`, { issues });
}

function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** Writes applications in the seed's CSV layout (years employed as the bin index). */
export function applicationsToCsv(rows: readonly LabeledApplication[]): string {
  return featureRowsCsv(CSV_TARGET_COLUMN, rows);
}

/** Writes applications with a model's decisions: the feature columns and `approved` (0/1). */
export function decisionsToCsv(rows: readonly LabeledApplication['features'][], decisions: readonly (0 | 1)[]): string {
  return featureRowsCsv(
    'approved',
    rows.map((features, i) => ({ features, approved: decisions[i]! })),
  );
}

function featureRowsCsv(last: string, rows: readonly LabeledApplication[]): string {
  const lines = [[...FEATURE_NAMES.map((f) => CSV_COLUMNS[f]), last].join(',')];
  for (const { features, approved } of rows) {
    const cells = FEATURE_NAMES.map((f) => {
      const v = features[f];
      if (f === 'years_employed') return String(YEARS_EMPLOYED_BINS.indexOf(v as (typeof YEARS_EMPLOYED_BINS)[number]));
      if (typeof v === 'boolean') return v ? '1' : '0';
      return csvField(String(v));
    });
    lines.push([...cells, String(approved)].join(','));
  }
  return `${lines.join('\n')}\n`;
}
