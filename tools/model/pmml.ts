/**
 * A reader for PMML 4.x `TreeModel` documents (the DMG's Predictive Model Markup Language, as
 * written by sklearn2pmml / JPMML, R's `pmml`, SAS, KNIME): the XML is parsed with
 * fast-xml-parser, each element's attributes are checked with zod, and the result is a small
 * typed document: the data dictionary, field-reference casts (`DerivedField` over one
 * `FieldRef`), the mining schema and the node tree with its predicates and scores.
 *
 * Only what a single classification tree needs is read; everything else (Header extensions,
 * Output, ModelStats, …) is ignored. Meaning (first true child wins, `noTrueChildStrategy`,
 * surrogates) is applied by `import-pmml.ts`. Errors are `ModelError`s with code `invalid_pmml`
 * naming the element (`Node "7"` or its path) or the XML line.
 *
 * Browser-safe (fast-xml-parser is pure JavaScript).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';
import { ModelError, formatIssues } from '../../model/errors.ts';

/** Refuse longer documents (in characters) before parsing; a depth-12 tree is a few hundred kilobytes. */
export const MAX_PMML_CHARS = 8 * 1024 * 1024;
/** Refuse node trees larger than this while reading (the importer's own limit is lower). */
const MAX_PMML_NODES = 20_000;
/** Children of one node: a binary tree compacts to a few per node, a category split to one per value. */
const MAX_PMML_CHILDREN = 64;
/** Element nesting (fast-xml-parser's own bound); a Node tree nests about one element per level. */
const MAX_XML_NESTING = 100;

export type SimpleOperator = z.infer<typeof SimpleOperator>;
const SimpleOperator = z.enum([
  'equal',
  'notEqual',
  'lessThan',
  'lessOrEqual',
  'greaterThan',
  'greaterOrEqual',
  'isMissing',
  'isNotMissing',
]);

/** A node's predicate. `compound` keeps its operands in document order (surrogates need it). */
export type PmmlPredicate =
  | { kind: 'true' }
  | { kind: 'false' }
  | { kind: 'simple'; field: string; operator: SimpleOperator; value: string | null }
  | { kind: 'set'; field: string; operator: 'isIn' | 'isNotIn'; values: string[] }
  | { kind: 'compound'; operator: 'and' | 'or' | 'xor' | 'surrogate'; operands: PmmlPredicate[] };

export interface PmmlScore {
  value: string;
  recordCount: number;
  probability: number | null;
}

export interface PmmlNode {
  /** How errors name this node: `Node "id"` or its position from the root, e.g. `Node[0/1/0]`. */
  where: string;
  predicate: PmmlPredicate;
  score: string | null;
  recordCount: number | null;
  distribution: PmmlScore[];
  children: PmmlNode[];
}

export interface PmmlDataField {
  name: string;
  optype: 'categorical' | 'ordinal' | 'continuous';
  dataType: string;
  /** Declared valid values (empty for most continuous fields). */
  values: string[];
}

/** A derived field that only casts another field: `<DerivedField dataType="float"><FieldRef field="x"/>`. */
export interface PmmlCast {
  name: string;
  dataType: string;
  source: string;
}

export interface PmmlTreeDocument {
  version: string;
  /** `Header/Application` name and version, when present. */
  producer: string | null;
  modelName: string | null;
  functionName: string;
  noTrueChildStrategy: 'returnNullPrediction' | 'returnLastPrediction';
  dataFields: Map<string, PmmlDataField>;
  casts: Map<string, PmmlCast>;
  /** Active (input) fields of the mining schema, in document order. */
  activeFields: string[];
  /** The target field, when the mining schema names one. */
  targetField: string | null;
  root: PmmlNode;
}

// ---------------------------------------------------------------------------------------------
// A generic element tree over fast-xml-parser's ordered output

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

type OrderedItem = Record<string, unknown> & { ':@'?: Record<string, string> };

function toElements(items: readonly OrderedItem[]): XmlElement[] {
  const out: XmlElement[] = [];
  for (const item of items) {
    for (const [key, value] of Object.entries(item)) {
      if (key === ':@' || key === '#text') continue;
      const kids = Array.isArray(value) ? (value as OrderedItem[]) : [];
      const text = kids
        .map((k) => k['#text'])
        .filter((t) => t !== undefined)
        .map(String)
        .join(' ');
      out.push({ name: key, attrs: item[':@'] ?? {}, children: toElements(kids), text });
    }
  }
  return out;
}

const child = (e: XmlElement, name: string) => e.children.find((c) => c.name === name);
const childrenNamed = (e: XmlElement, name: string) => e.children.filter((c) => c.name === name);

function fail(message: string, details: Record<string, unknown> = {}): never {
  throw new ModelError('invalid_pmml', message, details);
}

function unsupported(message: string, details: Record<string, unknown>): never {
  throw new ModelError('unsupported_pmml', message, details);
}

/** Checks an element's attributes with a zod schema; errors name the element. */
function attrs<T extends z.ZodType>(schema: T, e: XmlElement, where: string): z.infer<T> {
  const parsed = schema.safeParse(e.attrs);
  if (!parsed.success) fail(`${where}: <${e.name}> ${formatIssues(parsed.error.issues)}`, { where });
  return parsed.data;
}

const Name = z.string().min(1).max(200);
const Count = z
  .string()
  .regex(/^[+]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, 'must be a non-negative number')
  .transform(Number);

const PmmlAttrs = z.object({ version: z.string().regex(/^4\.\d+$/, 'this reader supports PMML 4.x') });
const DataFieldAttrs = z.object({
  name: Name,
  optype: z.enum(['categorical', 'ordinal', 'continuous']),
  dataType: z.string().min(1),
});
const ValueAttrs = z.object({ value: z.string(), property: z.enum(['valid', 'invalid', 'missing']).optional() });
const DerivedFieldAttrs = z.object({ name: Name, dataType: z.string().min(1) });
const FieldRefAttrs = z.object({ field: Name });
const MiningFieldAttrs = z.object({
  name: Name,
  usageType: z.enum(['active', 'predicted', 'target', 'supplementary', 'group', 'order', 'frequencyWeight', 'analysisWeight']).optional(),
});
const TreeModelAttrs = z.object({
  modelName: z.string().optional(),
  functionName: z.string().min(1),
  noTrueChildStrategy: z.enum(['returnNullPrediction', 'returnLastPrediction']).optional(),
});
const NodeAttrs = z.object({ id: z.string().max(100).optional(), score: z.string().optional(), recordCount: Count.optional() });
const ScoreDistributionAttrs = z.object({ value: z.string(), recordCount: Count, probability: Count.optional() });
const SimplePredicateAttrs = z.object({ field: Name, operator: SimpleOperator, value: z.string().optional() });
const SetPredicateAttrs = z.object({ field: Name, booleanOperator: z.enum(['isIn', 'isNotIn']) });
const CompoundAttrs = z.object({ booleanOperator: z.enum(['and', 'or', 'xor', 'surrogate']) });
const ArrayAttrs = z.object({
  type: z.enum(['string', 'int', 'real']),
  n: Count.optional(),
});

/**
 * Splits the content of a PMML `Array`: values separated by white space; a value holding
 * spaces is double-quoted, with `\"` for a quote inside (PMML 4.4, "Array").
 */
export function parsePmmlArray(text: string, where = 'Array'): string[] {
  const values: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) fail(`${where}: unterminated quoted value in Array`, { where });
        const d = text[i]!;
        if (d === '\\' && text[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (d === '"') {
          i++;
          break;
        } else {
          value += d;
          i++;
        }
      }
      values.push(value);
    } else {
      let j = i;
      while (j < text.length && !/\s/.test(text[j]!)) j++;
      values.push(text.slice(i, j));
      i = j;
    }
  }
  return values;
}

const PREDICATE_ELEMENTS = new Set(['True', 'False', 'SimplePredicate', 'SimpleSetPredicate', 'CompoundPredicate']);

function readPredicate(e: XmlElement, where: string): PmmlPredicate {
  switch (e.name) {
    case 'True':
      return { kind: 'true' };
    case 'False':
      return { kind: 'false' };
    case 'SimplePredicate': {
      const a = attrs(SimplePredicateAttrs, e, where);
      const needsValue = a.operator !== 'isMissing' && a.operator !== 'isNotMissing';
      if (needsValue && a.value === undefined) fail(`${where}: SimplePredicate ${a.operator} on ${a.field} has no value`, { where });
      return { kind: 'simple', field: a.field, operator: a.operator, value: needsValue ? a.value! : null };
    }
    case 'SimpleSetPredicate': {
      const a = attrs(SetPredicateAttrs, e, where);
      const array = child(e, 'Array');
      if (!array) fail(`${where}: SimpleSetPredicate on ${a.field} has no Array`, { where });
      attrs(ArrayAttrs, array, where);
      // `n` is not checked against the values: R's pmml writes the size of the other branch's set.
      const values = parsePmmlArray(array.text, where);
      return { kind: 'set', field: a.field, operator: a.booleanOperator, values };
    }
    case 'CompoundPredicate': {
      const a = attrs(CompoundAttrs, e, where);
      const operands = e.children.filter((c) => PREDICATE_ELEMENTS.has(c.name)).map((c) => readPredicate(c, where));
      if (operands.length < 2) fail(`${where}: CompoundPredicate ${a.booleanOperator} needs at least two operands`, { where });
      return { kind: 'compound', operator: a.booleanOperator, operands };
    }
    default:
      return fail(`${where}: <${e.name}> is not a predicate`, { where });
  }
}

function readNode(e: XmlElement, path: string, budget: { nodes: number }): PmmlNode {
  if (++budget.nodes > MAX_PMML_NODES) unsupported(`the tree has more than ${MAX_PMML_NODES} nodes`, {});
  const a = attrs(NodeAttrs, e, `Node[${path}]`);
  const where = a.id !== undefined ? `Node "${a.id}"` : `Node[${path}]`;
  if (child(e, 'EmbeddedModel') || child(e, 'Regression') || child(e, 'DecisionTree')) {
    fail(`${where}: embedded models are not supported`, { where });
  }
  const predicates = e.children.filter((c) => PREDICATE_ELEMENTS.has(c.name));
  if (predicates.length !== 1) fail(`${where}: a Node needs exactly one predicate, found ${predicates.length}`, { where });
  const distribution = childrenNamed(e, 'ScoreDistribution').map((s) => {
    const d = attrs(ScoreDistributionAttrs, s, where);
    return { value: d.value, recordCount: d.recordCount, probability: d.probability ?? null };
  });
  const kids = childrenNamed(e, 'Node');
  if (kids.length > MAX_PMML_CHILDREN)
    unsupported(`${where}: ${kids.length} child nodes; at most ${MAX_PMML_CHILDREN} are supported`, { where });
  const children = kids.map((c, i) => readNode(c, `${path}/${i}`, budget));
  return {
    where,
    predicate: readPredicate(predicates[0]!, where),
    score: a.score ?? null,
    recordCount: a.recordCount ?? null,
    distribution,
    children,
  };
}

function readCasts(container: XmlElement | undefined, into: Map<string, PmmlCast>): void {
  if (!container) return;
  for (const d of childrenNamed(container, 'DerivedField')) {
    const a = attrs(DerivedFieldAttrs, d, `DerivedField`);
    const ref = d.children.length === 1 ? child(d, 'FieldRef') : undefined;
    // Any other expression (NormContinuous, Apply, MapValues, …) is not a cast: the importer
    // reports it as an unknown field if the tree uses it.
    if (!ref) continue;
    into.set(a.name, { name: a.name, dataType: a.dataType, source: attrs(FieldRefAttrs, ref, `DerivedField "${a.name}"`).field });
  }
}

/**
 * Parses a PMML document holding one `TreeModel`.
 * @throws ModelError `invalid_pmml` for malformed XML, a document that is not PMML 4.x with a
 *   single TreeModel, or an element whose attributes fail the schema.
 */
export function parsePmmlTree(xml: string): PmmlTreeDocument {
  if (xml.length > MAX_PMML_CHARS) unsupported(`the PMML document is longer than ${MAX_PMML_CHARS} characters`, {});
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    fail(`not well-formed XML at line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg}`, {
      line: valid.err.line,
      column: valid.err.col,
    });
  }
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    removeNSPrefix: true,
    parseTagValue: false,
    parseAttributeValue: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    processEntities: true,
    htmlEntities: false,
    maxNestedTags: MAX_XML_NESTING,
  });
  let items: OrderedItem[];
  try {
    items = parser.parse(xml) as OrderedItem[];
  } catch (e) {
    const message = (e as Error).message;
    if (/nested tags/i.test(message)) unsupported(`the document nests deeper than ${MAX_XML_NESTING} elements`, {});
    return fail(`not well-formed XML: ${message}`);
  }
  const roots = toElements(items);
  const pmml = roots.find((e) => e.name === 'PMML');
  if (!pmml) fail(`the root element is <${roots[0]?.name ?? 'none'}>, not <PMML>`);
  const { version } = attrs(PmmlAttrs, pmml, 'PMML');

  const trees = childrenNamed(pmml, 'TreeModel');
  const others = pmml.children.filter((c) => /Model$/.test(c.name) && c.name !== 'TreeModel').map((c) => c.name);
  if (trees.length !== 1 || others.length > 0) {
    const found = [...trees.map(() => 'TreeModel'), ...others].join(', ') || 'no model';
    fail(`expected exactly one TreeModel (a single decision tree; ensembles cannot be imported), found ${found}`);
  }
  const tree = trees[0]!;
  const t = attrs(TreeModelAttrs, tree, 'TreeModel');

  const dictionary = child(pmml, 'DataDictionary');
  if (!dictionary) fail('PMML has no DataDictionary');
  const dataFields = new Map<string, PmmlDataField>();
  for (const d of childrenNamed(dictionary, 'DataField')) {
    const a = attrs(DataFieldAttrs, d, 'DataField');
    const values = childrenNamed(d, 'Value')
      .map((v) => attrs(ValueAttrs, v, `DataField "${a.name}"`))
      .filter((v) => (v.property ?? 'valid') === 'valid')
      .map((v) => v.value);
    dataFields.set(a.name, { name: a.name, optype: a.optype, dataType: a.dataType, values });
  }

  const casts = new Map<string, PmmlCast>();
  readCasts(child(pmml, 'TransformationDictionary'), casts);
  readCasts(child(tree, 'LocalTransformations'), casts);

  const schema = child(tree, 'MiningSchema');
  if (!schema) fail('TreeModel has no MiningSchema');
  const activeFields: string[] = [];
  let targetField: string | null = null;
  for (const m of childrenNamed(schema, 'MiningField')) {
    const a = attrs(MiningFieldAttrs, m, 'MiningField');
    const usage = a.usageType ?? 'active';
    if (!dataFields.has(a.name)) fail(`MiningField "${a.name}" is not declared in the DataDictionary`, { field: a.name });
    if (usage === 'target' || usage === 'predicted') targetField = a.name;
    else if (usage === 'active') activeFields.push(a.name);
  }

  const rootElement = child(tree, 'Node');
  if (!rootElement) fail('TreeModel has no root Node');
  const header = child(pmml, 'Header');
  const application = header ? child(header, 'Application') : undefined;
  const producer = application
    ? [application.attrs['name'], application.attrs['version']].filter((s) => s !== undefined && s !== '').join(' ') || null
    : null;
  return {
    version,
    producer,
    modelName: t.modelName ?? null,
    functionName: t.functionName,
    noTrueChildStrategy: t.noTrueChildStrategy ?? 'returnNullPrediction',
    dataFields,
    casts,
    activeFields,
    targetField,
    root: readNode(rootElement, '0', { nodes: 0 }),
  };
}
