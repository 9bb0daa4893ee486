/**
 * ONNX reader and writer for one `ai.onnx.ml` tree ensemble (`TreeEnsembleClassifier` or
 * `TreeEnsembleRegressor`): the one place the ONNX protobuf format is parsed.
 *
 * Decoding uses protobufjs with a descriptor of only the ONNX messages and fields a tree
 * ensemble needs (field numbers and enum values from `onnx.proto`, ONNX IR ≥ 3). Fields outside
 * it (subgraphs, functions, training info, sparse tensors, external data) are skipped unread, so
 * no message type here contains itself and decoding cannot recurse on a hostile file. Bounds on
 * the byte size, node and attribute counts keep memory proportional to the file, and every
 * refusal is a {@link ModelError} `invalid_onnx` or `unsupported_onnx` naming the field or
 * attribute.
 *
 * Browser-safe (no I/O).
 */
import protobuf from 'protobufjs/light.js';
import { ModelError } from '../../model/errors.ts';

/** Largest ONNX file accepted (a 500-tree depth-8 ensemble is ~10 MB). */
export const MAX_ONNX_BYTES = 16 * 1024 * 1024;
/** Largest number of graph nodes, attributes per node and values per attribute. */
const MAX_GRAPH_NODES = 16;
const MAX_ATTRIBUTES = 64;
export const MAX_ENSEMBLE_NODES = 200_000;

const DataType = { FLOAT: 1, INT64: 7, STRING: 8, DOUBLE: 11 } as const;
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** The ONNX messages a tree ensemble needs (onnx.proto field numbers). */
const descriptor = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            modelVersion: { type: 'int64', id: 5 },
            docString: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
          },
        },
        StringStringEntryProto: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            domain: { type: 'string', id: 7 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'int32', id: 20 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            strings: { rule: 'repeated', type: 'bytes', id: 9 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            floatData: { rule: 'repeated', type: 'float', id: 4 },
            doubleData: { rule: 'repeated', type: 'double', id: 10 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
            dataLocation: { type: 'int32', id: 14 },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: { fields: { tensorType: { type: 'TensorTypeProto', id: 1 } } },
        TensorTypeProto: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
        TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } } },
        Dimension: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);
const ModelProto = root.lookupType('onnx.ModelProto');

/** The operators read: a binary classifier or a one-target regressor. */
export type EnsembleOp = 'TreeEnsembleClassifier' | 'TreeEnsembleRegressor';
export const NODE_MODES = ['BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ', 'LEAF'] as const;
export type NodeMode = (typeof NODE_MODES)[number];

/** An attribute value, as decoded. */
export type AttributeValue = number | string | readonly number[] | readonly string[];

/** The tree-ensemble node of an ONNX model, with what the import needs of the model around it. */
export interface OnnxEnsemble {
  op: EnsembleOp;
  /** `ai.onnx.ml` opset the model imports (1–3). */
  opset: number;
  /** `producer_name producer_version`, if any. */
  producer: string | null;
  /** The graph input: element type and feature count (`[N, F]`, F fixed). */
  input: { name: string; elemType: 'float' | 'double'; features: number | null };
  /** The ensemble node's attributes by name; `*_as_tensor` attributes are decoded to numbers. */
  attributes: ReadonlyMap<string, AttributeValue>;
  /** `metadata_props` of the model. */
  metadata: ReadonlyMap<string, string>;
}

const fail = (message: string, details: Record<string, unknown> = {}): never => {
  throw new ModelError('invalid_onnx', message, details);
};
const unsupported = (message: string, details: Record<string, unknown> = {}): never => {
  throw new ModelError('unsupported_onnx', message, details);
};

/** A decoded int64 (Long or number) as a safe JS integer. */
function int(value: unknown, what: string): number {
  // protobufjs gives int64 as a Long (when the long package is present) or a number.
  const n =
    typeof value === 'object' && value !== null && 'toNumber' in value ? (value as { toNumber(): number }).toNumber() : Number(value ?? 0);
  if (!Number.isSafeInteger(n)) fail(`${what} is not a safe integer`);
  return n;
}

const text = (bytes: Uint8Array) => new TextDecoder('utf-8', { fatal: false }).decode(bytes);

/** A tensor attribute's numbers (float or double, in `*_data` or little-endian `raw_data`). */
function tensorNumbers(t: protobuf.Message & Record<string, unknown>, what: string): number[] {
  if (int(t['dataLocation'] ?? 0, `${what}.data_location`) !== 0) unsupported(`${what}: external tensor data is not supported`);
  const type = Number(t['dataType'] ?? 0);
  const raw = t['rawData'] as Uint8Array | undefined;
  if (type !== DataType.FLOAT && type !== DataType.DOUBLE) unsupported(`${what}: tensor type ${type} (only float and double)`);
  if (raw !== undefined && raw.length > 0) {
    const size = type === DataType.DOUBLE ? 8 : 4;
    if (raw.length % size !== 0) fail(`${what}: raw_data length ${raw.length} is not a multiple of ${size}`);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Array.from({ length: raw.length / size }, (_, i) => (size === 8 ? view.getFloat64(i * 8, true) : view.getFloat32(i * 4, true)));
  }
  return [...(((type === DataType.DOUBLE ? t['doubleData'] : t['floatData']) as number[] | undefined) ?? [])];
}

function attributeValue(a: protobuf.Message & Record<string, unknown>, where: string): AttributeValue {
  const name = a['name'] as string;
  const what = `${where} attribute ${name}`;
  switch (Number(a['type'] ?? 0)) {
    case AttributeType.FLOAT:
      return Number(a['f'] ?? 0);
    case AttributeType.INT:
      return int(a['i'], what);
    case AttributeType.STRING:
      return text((a['s'] as Uint8Array | undefined) ?? new Uint8Array());
    case AttributeType.TENSOR:
      return a['t'] === undefined || a['t'] === null ? fail(`${what}: tensor missing`) : tensorNumbers(a['t'] as never, what);
    case AttributeType.FLOATS:
      return (a['floats'] as number[] | undefined) ?? [];
    case AttributeType.INTS:
      return ((a['ints'] as unknown[] | undefined) ?? []).map((v, i) => int(v, `${what}[${i}]`));
    case AttributeType.STRINGS:
      return ((a['strings'] as Uint8Array[] | undefined) ?? []).map(text);
    default:
      return unsupported(`${what}: attribute type ${String(a['type'])} is not one a tree ensemble uses`);
  }
}

/**
 * Decodes an ONNX model whose graph is one tree-ensemble node (plus, optionally, a ZipMap or
 * Identity/Cast on its outputs, which converters append and which change no decision).
 * @throws ModelError `invalid_onnx` (not protobuf, truncated, inconsistent) or `unsupported_onnx`.
 */
export function parseOnnxEnsemble(bytes: Uint8Array): OnnxEnsemble {
  if (bytes.length > MAX_ONNX_BYTES) {
    unsupported(`the ONNX file has ${bytes.length} bytes; at most ${MAX_ONNX_BYTES} are accepted`, { bytes: bytes.length });
  }
  if (bytes.length === 0) fail('the ONNX file is empty');
  let model: protobuf.Message & Record<string, unknown>;
  try {
    model = ModelProto.decode(bytes) as never;
  } catch (e) {
    // A truncated or corrupt file: protobufjs reports the offset ("index out of range", wire type).
    if (e instanceof RangeError && /call stack/i.test(e.message)) fail('the ONNX file nests too deeply');
    return fail(`not an ONNX model (protobuf): ${(e as Error).message}`);
  }
  const graph = model['graph'] as (protobuf.Message & Record<string, unknown>) | undefined;
  if (!graph) return fail('ModelProto.graph is missing');
  const opsets = ((model['opsetImport'] as Record<string, unknown>[] | undefined) ?? []).map((o) => ({
    domain: (o['domain'] as string | undefined) ?? '',
    version: int(o['version'], 'opset_import.version'),
  }));
  const ml = opsets.find((o) => o.domain === 'ai.onnx.ml');
  if (!ml) return unsupported('opset_import has no ai.onnx.ml entry: the model holds no ONNX-ML operator');
  if (ml.version < 1 || ml.version > 3) unsupported(`opset_import ai.onnx.ml version ${ml.version}: versions 1–3 are supported`);
  const nodes = (graph['node'] as (protobuf.Message & Record<string, unknown>)[] | undefined) ?? [];
  if (nodes.length > MAX_GRAPH_NODES) unsupported(`graph.node has ${nodes.length} nodes; a tree-ensemble model has at most a few`);
  const isEnsemble = (n: Record<string, unknown>) =>
    (n['opType'] === 'TreeEnsembleClassifier' || n['opType'] === 'TreeEnsembleRegressor') && n['domain'] === 'ai.onnx.ml';
  const ensembles = nodes.filter(isEnsemble);
  if (ensembles.length !== 1) {
    return unsupported(
      `the graph holds ${ensembles.length} TreeEnsembleClassifier/TreeEnsembleRegressor nodes (domain ai.onnx.ml); exactly one is supported`,
    );
  }
  const node = ensembles[0]!;
  // Other nodes may only post-process the ensemble's outputs in ways that change no decision.
  const harmless = new Set(['ZipMap', 'Identity', 'Cast']);
  for (const other of nodes) {
    if (other === node) continue;
    const op = `${other['domain'] ? `${String(other['domain'])}.` : ''}${String(other['opType'])}`;
    if (!harmless.has(String(other['opType'])))
      unsupported(
        `graph node ${JSON.stringify(other['name'] ?? '')} is ${op}: only one tree ensemble (and ZipMap/Identity/Cast on its outputs) is supported`,
      );
    const inputs = (other['input'] as string[]) ?? [];
    const graphInputs = new Set(((graph['input'] as Record<string, unknown>[]) ?? []).map((i) => i['name'] as string));
    if (inputs.some((i) => graphInputs.has(i))) unsupported(`graph node ${op} transforms the model's input before the ensemble`);
  }
  const where = `${String(node['opType'])}`;
  const attributes = new Map<string, AttributeValue>();
  const list = (node['attribute'] as (protobuf.Message & Record<string, unknown>)[] | undefined) ?? [];
  if (list.length > MAX_ATTRIBUTES) unsupported(`${where} has ${list.length} attributes`);
  for (const a of list) {
    const name = a['name'] as string;
    if (attributes.has(name)) fail(`${where} attribute ${name} is given twice`);
    attributes.set(name, attributeValue(a, where));
  }
  const ensembleInputs = (node['input'] as string[]) ?? [];
  if (ensembleInputs.length !== 1) fail(`${where} has ${ensembleInputs.length} inputs; it takes one`);
  const graphInput = ((graph['input'] as Record<string, unknown>[]) ?? []).find((i) => i['name'] === ensembleInputs[0]);
  if (!graphInput) return unsupported(`${where} reads ${JSON.stringify(ensembleInputs[0])}, which is not a graph input`);
  const tensor = ((graphInput['type'] as Record<string, unknown> | undefined)?.['tensorType'] ?? {}) as Record<string, unknown>;
  const elem = Number(tensor['elemType'] ?? 0);
  if (elem !== DataType.FLOAT && elem !== DataType.DOUBLE) {
    unsupported(`graph input ${JSON.stringify(ensembleInputs[0])} has element type ${elem}; a float or double tensor [N, F] is required`);
  }
  const dims = (((tensor['shape'] as Record<string, unknown> | undefined)?.['dim'] as Record<string, unknown>[]) ?? []).map((d) =>
    d['dimValue'] !== undefined && d['dimValue'] !== null && int(d['dimValue'], 'dim_value') > 0 ? int(d['dimValue'], 'dim_value') : null,
  );
  if (dims.length !== 0 && dims.length !== 2)
    unsupported(`graph input ${JSON.stringify(ensembleInputs[0])} has rank ${dims.length}; [N, F] is required`);
  const metadata = new Map<string, string>();
  for (const p of (model['metadataProps'] as Record<string, unknown>[] | undefined) ?? []) {
    metadata.set(String(p['key'] ?? ''), String(p['value'] ?? ''));
  }
  const producer = [model['producerName'], model['producerVersion']].filter((s) => typeof s === 'string' && s !== '').join(' ');
  return {
    op: node['opType'] as EnsembleOp,
    opset: ml.version,
    producer: producer === '' ? null : producer.slice(0, 200),
    input: { name: ensembleInputs[0]!, elemType: elem === DataType.DOUBLE ? 'double' : 'float', features: dims[1] ?? null },
    attributes,
    metadata,
  };
}

// ---------------------------------------------------------------------------------------------
// Writer (the project's own ensembles, and test fixtures)

/** What {@link writeOnnxEnsemble} writes: attribute values by name, typed by their JS shape. */
export interface OnnxEnsembleSpec {
  op: EnsembleOp;
  opset: number;
  features: number;
  elemType?: 'float' | 'double';
  producer?: string;
  /** Attributes: numbers → INT (integer) or FLOAT (`floats` list), strings, int lists, float lists. */
  ints: Record<string, number | readonly number[]>;
  floats: Record<string, number | readonly number[]>;
  strings: Record<string, string | readonly string[]>;
  /** Double attributes written as `*_as_tensor` (opset 3). */
  doubles?: Record<string, readonly number[]>;
  metadata?: Record<string, string>;
}

/** Writes an ONNX model of one tree-ensemble node, as onnxruntime loads it. */
export function writeOnnxEnsemble(spec: OnnxEnsembleSpec): Uint8Array {
  const enc = new TextEncoder();
  const attribute: Record<string, unknown>[] = [];
  for (const [name, v] of Object.entries(spec.ints)) {
    attribute.push(typeof v === 'number' ? { name, type: AttributeType.INT, i: v } : { name, type: AttributeType.INTS, ints: [...v] });
  }
  for (const [name, v] of Object.entries(spec.floats)) {
    attribute.push(
      typeof v === 'number' ? { name, type: AttributeType.FLOAT, f: v } : { name, type: AttributeType.FLOATS, floats: [...v] },
    );
  }
  for (const [name, v] of Object.entries(spec.strings)) {
    attribute.push(
      typeof v === 'string'
        ? { name, type: AttributeType.STRING, s: enc.encode(v) }
        : { name, type: AttributeType.STRINGS, strings: v.map((s) => enc.encode(s)) },
    );
  }
  for (const [name, v] of Object.entries(spec.doubles ?? {})) {
    attribute.push({ name, type: AttributeType.TENSOR, t: { dims: [v.length], dataType: DataType.DOUBLE, doubleData: [...v] } });
  }
  const elemType = spec.elemType === 'double' ? DataType.DOUBLE : DataType.FLOAT;
  const shape = (dims: (number | string)[]) => ({
    dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
  });
  const tensorType = (elem: number, dims: (number | string)[]) => ({ tensorType: { elemType: elem, shape: shape(dims) } });
  const classifier = spec.op === 'TreeEnsembleClassifier';
  const outputs = classifier
    ? [
        { name: 'label', type: tensorType(DataType.INT64, ['N']) },
        { name: 'probabilities', type: tensorType(DataType.FLOAT, ['N', 2]) },
      ]
    : [{ name: 'variable', type: tensorType(DataType.FLOAT, ['N', 1]) }];
  const message = ModelProto.fromObject({
    irVersion: 8,
    producerName: spec.producer ?? 'blindscore',
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: spec.opset },
    ],
    graph: {
      name: 'ensemble',
      node: [{ input: ['input'], output: outputs.map((o) => o.name), name: 'ensemble', opType: spec.op, domain: 'ai.onnx.ml', attribute }],
      input: [{ name: 'input', type: tensorType(elemType, ['N', spec.features]) }],
      output: outputs,
    },
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  return ModelProto.encode(message).finish();
}
