/**
 * The one error type of the model layer. Every bad input (features, CSV, manifest, tree, party
 * inputs) becomes a {@link ModelError} with a machine-readable `code`, so a service can map it
 * to an HTTP 4xx `{ code, message }` without parsing messages.
 *
 * Browser-safe.
 */
import type { z } from 'zod';

export const ModelErrorCode = {
  /** Raw feature values fail the feature schema (out of range, missing, unknown category). */
  InvalidFeatures: 'invalid_features',
  /** A CSV file is malformed or one of its cells is invalid. */
  InvalidCsv: 'invalid_csv',
  /** Text that should be JSON is not. */
  InvalidJson: 'invalid_json',
  /** The public manifest fails its schema or its consistency checks. */
  InvalidManifest: 'invalid_manifest',
  /** The private tree fails its schema or its consistency checks. */
  InvalidTree: 'invalid_tree',
  /** Manifest, tree or payload were made for different model versions, or a file was edited. */
  VersionMismatch: 'version_mismatch',
  /** A party's encrypted-inputs payload does not match the manifest. */
  InvalidInputs: 'invalid_inputs',
  /** Training cannot proceed with the given data or options. */
  InvalidTraining: 'invalid_training',
  /** An imported PMML document is not well-formed XML, not a PMML 4.x TreeModel, or fails its schema. */
  InvalidPmml: 'invalid_pmml',
  /** A valid PMML tree BlindScore cannot run (regression, reachable null prediction, beyond the tree limits). */
  UnsupportedPmml: 'unsupported_pmml',
  /** An imported model names a field that is not a feature (and no field map maps it). */
  UnknownField: 'unknown_field',
  /** An imported model names a category value or class the feature schema does not have. */
  UnknownValue: 'unknown_value',
  /** A feature's thresholds in an imported tree do not fit a 4-bit code (at most 15 cut points). */
  TooManyThresholds: 'too_many_thresholds',
  /** A split of an imported tree cannot be a threshold `code ≤ t` on any coding of its feature. */
  UnrepresentableSplit: 'unrepresentable_split',
  /** An imported ONNX file is not a well-formed ONNX model, or its tree ensemble is inconsistent. */
  InvalidOnnx: 'invalid_onnx',
  /** A valid ONNX model BlindScore cannot run (another operator, opset, transform, beyond the bounds). */
  UnsupportedOnnx: 'unsupported_onnx',
  /** A node of an imported tree that may decide has neither a score nor a score distribution. */
  MissingScore: 'missing_score',
} as const;
export type ModelErrorCode = (typeof ModelErrorCode)[keyof typeof ModelErrorCode];

/** A typed, caller-facing error of the model layer. */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(
    readonly code: ModelErrorCode,
    message: string,
    /** Machine-readable facts, e.g. `{ row: 12, column: 'Age' }` or the failing paths. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Turns zod issues into one readable line per issue: `path: message`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], max = 10): string {
  const lines = issues.slice(0, max).map((i) => {
    const path = i.path.length === 0 ? '(root)' : i.path.map(String).join('.');
    return `${path}: ${i.message}`;
  });
  if (issues.length > max) lines.push(`… and ${issues.length - max} more`);
  return lines.join('; ');
}
