/**
 * Seeded mutators for fuzzing: bytes (flips, inserts, deletions, truncation, splices, boundary
 * values) and JSON bodies (values swapped for other types, keys dropped or added, strings cut or
 * grown, base64 fields re-encoded with a flipped byte or a character too many). Every mutant is
 * a function of the seed, so a failure is reproduced by its seed and index.
 */
import { base64ToBytes, bytesToBase64 } from '../../protocol/bytes.ts';
import { createRng, type Rng } from '../../tools/model/random.ts';

export { createRng, type Rng };

const INTERESTING_U64 = [
  0n,
  1n,
  2n,
  3n,
  4n,
  0x7fn,
  0x80n,
  0xffn,
  0x100n,
  0x7fffn,
  0xffffn,
  0x10000n,
  0x7fffffffn,
  0xffffffffn,
  0x100000000n,
  0x7fffffffffffffffn,
  0xffffffffffffffffn,
];

/** A copy of `input` with one to a few byte-level mutations. */
export function mutateBytes(rng: Rng, input: Uint8Array, maxLength = input.length + 64): Uint8Array<ArrayBuffer> {
  let b: Uint8Array<ArrayBuffer> = Uint8Array.from(input);
  const rounds = 1 + rng.int(rng.chance(0.8) ? 2 : 8);
  for (let r = 0; r < rounds; r++) {
    const at = b.length === 0 ? 0 : rng.int(b.length);
    switch (rng.int(9)) {
      case 0: // flip a bit
        if (b.length) b[at]! ^= 1 << rng.int(8);
        break;
      case 1: // random byte
        if (b.length) b[at] = rng.int(256);
        break;
      case 2: // truncate
        b = b.slice(0, rng.int(b.length + 1));
        break;
      case 3: // insert random bytes
        b = concat(b.subarray(0, at), randomBytes(rng, 1 + rng.int(16)), b.subarray(at));
        break;
      case 4: // delete a run
        b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(16))));
        break;
      case 5: {
        // overwrite a little-endian u64 (bincode lengths and headers) with a boundary value
        if (b.length < 8) break;
        const p = rng.int(b.length - 7) & ~(rng.chance(0.7) ? 7 : 0);
        new DataView(b.buffer, b.byteOffset).setBigUint64(p, INTERESTING_U64[rng.int(INTERESTING_U64.length)]!, true);
        break;
      }
      case 6: // add or subtract a small amount to a byte (length fields off by a few)
        if (b.length) b[at] = (b[at]! + (rng.chance(0.5) ? 1 : -1) * (1 + rng.int(4))) & 0xff;
        break;
      case 7: {
        // duplicate a chunk somewhere else
        const len = 1 + rng.int(32);
        b = concat(b.subarray(0, at), b.subarray(at, at + len), b.subarray(at));
        break;
      }
      default: // append garbage
        b = concat(b, randomBytes(rng, 1 + rng.int(8)));
    }
  }
  return b.length > maxLength ? b.slice(0, maxLength) : b;
}

function randomBytes(rng: Rng, n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(256);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const isBase64ish = (s: string) => s.length >= 8 && /^[A-Za-z0-9+/]+={0,2}$/.test(s);

/** A replacement value of any JSON type, with the edge cases schemas must bound. */
function randomJson(rng: Rng, depth = 0): Json {
  switch (rng.int(depth > 2 ? 8 : 10)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return [0, -1, 1, 2, 3, 1.5, -0, 1e308, -1e308, 2 ** 53, 2 ** 31, 64, 65, 1e-300][rng.int(14)]!;
    case 3:
      return '';
    case 4:
      return ['applicant', 'bank', 'bureau', 'compact-list', 'shortint-compressed', '__proto__', 'constructor', 'a', '0'.repeat(16)][
        rng.int(9)
      ]!;
    case 5:
      return Array.from({ length: 1 + rng.int(8) }, () => B64[rng.int(64)]).join('') + '='.repeat(rng.int(3));
    case 6:
      return 'x'.repeat([1, 63, 64, 65, 1000, 30_000, 70_000][rng.int(7)]!);
    case 7:
      return String.fromCharCode(...Array.from({ length: 1 + rng.int(6) }, () => rng.int(0x3000)));
    case 8:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: rng.int(4) }, (_, i) => [`k${i}`, randomJson(rng, depth + 1)]));
  }
}

/** Mutates a base64 string in the ways that reach the decoder and the parser behind it. */
function mutateBase64(rng: Rng, s: string): string {
  switch (rng.int(7)) {
    case 0: // one character too many or too few (the decode errors of issue 13)
      return rng.chance(0.5) ? s + B64[rng.int(64)] : s.slice(0, -1);
    case 1: // padding in odd places
      return s.slice(0, rng.int(s.length + 1)) + '='.repeat(1 + rng.int(3));
    case 2: // short junk the alphabet allows
      return ['A', 'AA', 'AAA', 'AAAAA', 'AAAAAA=', 'AB==', '====', 'A===', ''][rng.int(9)]!;
    case 3: // a character outside the alphabet
      return replaceAt(s, rng.int(s.length), ['-', '_', ' ', '\n', '\u00e9', '.', '%'][rng.int(7)]!);
    default: {
      // canonical base64 of mutated bytes: reaches the binary parser behind the decoder
      let bytes: Uint8Array;
      try {
        bytes = base64ToBytes(s);
      } catch {
        return `${s}A`;
      }
      return bytesToBase64(mutateBytes(rng, bytes));
    }
  }
}

const replaceAt = (s: string, i: number, c: string) => s.slice(0, i) + c + s.slice(i + 1);

/** Every path to a value inside `value`. */
function paths(value: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) for (const [i, v] of value.entries()) paths(v, [...prefix, i], out);
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function getAt(root: Json, path: (string | number)[]): Json {
  let v: Json = root;
  for (const p of path) v = (v as Record<string | number, Json>)[p]!;
  return v;
}

/** A structurally mutated copy of a JSON value (one to three edits). */
export function mutateJsonValue(rng: Rng, input: Json): Json {
  let root = structuredClone(input);
  const edits = 1 + rng.int(3);
  for (let e = 0; e < edits; e++) {
    const all = paths(root);
    const path = all[rng.int(all.length)]!;
    const target = getAt(root, path);
    const set = (v: Json) => {
      if (path.length === 0) root = v;
      else (getAt(root, path.slice(0, -1)) as Record<string | number, Json>)[path.at(-1)!] = v;
    };
    const parent = path.length ? (getAt(root, path.slice(0, -1)) as Json) : undefined;
    const op = rng.int(8);
    if (typeof target === 'string' && isBase64ish(target) && op < 5) set(mutateBase64(rng, target));
    else if (op === 0 && parent && !Array.isArray(parent) && typeof parent === 'object')
      delete (parent as Record<string, Json>)[path.at(-1) as string];
    else if (op === 1 && Array.isArray(parent)) parent.splice(path.at(-1) as number, 1);
    else if (op === 2 && Array.isArray(target)) target.push(structuredClone(target[rng.int(target.length)] ?? randomJson(rng)));
    else if (op === 3 && target !== null && typeof target === 'object' && !Array.isArray(target))
      target[rng.chance(0.5) ? 'extra' : 'constructor'] = randomJson(rng);
    else if (op === 4 && typeof target === 'string')
      set(target.slice(0, rng.int(target.length + 1)) + (rng.chance(0.5) ? target.slice(0, rng.int(8)) : ''));
    else if (op === 5 && typeof target === 'number') set([target + 1, target - 1, -target, target * 1000, 0][rng.int(5)]!);
    else set(randomJson(rng));
  }
  return root;
}

/**
 * A mutated JSON body: mostly structural edits serialized back (valid JSON, wrong shape), some
 * byte-level edits of the text (broken JSON, bad UTF-8), some both.
 */
export function mutateJsonBody(rng: Rng, valid: Json): Uint8Array<ArrayBuffer> {
  const kind = rng.int(10);
  const structural = kind < 7 ? mutateJsonValue(rng, valid) : valid;
  const text = new TextEncoder().encode(JSON.stringify(structural));
  return kind >= 5 ? mutateBytes(rng, text, 70 * 1024) : text;
}
