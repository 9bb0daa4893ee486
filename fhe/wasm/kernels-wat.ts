/**
 * WebAssembly text of the engine's hot loops (SIMD f64x2 / i64x2), assembled from small
 * templates in two variants: plain SIMD, and relaxed SIMD whose complex products and
 * multiply-accumulates are `f64x2.relaxed_madd` / `relaxed_nmadd` (fused multiply-add where the
 * CPU has it). `npm run engine:wasm` compiles both with wabt into `kernels-binary.ts`; a unit
 * test recompiles them and checks the committed binaries match, so the two never drift.
 *
 * Kernels (all pointers are byte addresses in the key's shared memory, arrays of f64 unless
 * noted; complex arrays are split into real and imaginary halves):
 * - `keyswitch(kskLo, kskHi, input, acc, inDim, size, baseLog, level, count, inStride, accStride)`:
 *   for each of `count` inputs, acc (size = n+1 u64) = (0,…,0,b) − Σ digits·KSK rows, tfhe-rs
 *   signed decomposition in i64, rows in i64x2 (the KSK's low and high u32 halves are joined
 *   with `v128.load32x2_u`). Bit-identical to the TypeScript keyswitch; the `plain` path's.
 * - `keyswitch_hi32(kskHi, input, acc, …, acc32, acc32Stride)`: the same digits against the KSK
 *   words' high halves only, in i32x4 lanes, the dropped halves' mean subtracted (see
 *   KEYSWITCH_HI32); the `relaxed` path's keyswitch where `keyswitchHi32Supported` (pbs-wasm.ts),
 *   a zero-mean error of standard deviation ~2^39 per word against the exact one.
 * - `blind_rotate(…, count, switchedStride, accStride)`: the blind rotation of `count`
 *   accumulators in one pass over the Fourier bootstrap key (see BLIND_ROTATE).
 * - `fft_fwd(re, im, m, tw)` / `fft_bwd(re, im, m, tw, twEnd)`: the radix-4 DIF / DIT DFTs of
 *   `fft/radix4.ts` (same stage order and twiddles, so the same Fourier order).
 * - `rotate_sub_twist(acc, a, n, out, twist, digitScale, base)`: T = X^a·P − P of one
 *   accumulator polynomial, X^a·P read in place, level-1 balanced digits, folded and twisted for
 *   the forward DFT (see rotateSubTwist).
 * - `mac_rows(d, dStride, b, bStride, rows, o, m)`: o = Σ_r d_r·b_r pointwise (one external
 *   product output polynomial).
 * - `untwist_add(oRe, oIm, acc, m, untwist)`: acc += untwisted backward DFT, reduced to the
 *   centred range mod 2^64.
 * `blind_rotate` calls fixed-M twins of the rotation, k = 1 multiply-accumulate and untwist
 * kernels for N = 2048 and 4096 (immediate offsets; same operations, same bits).
 */

const V = (name: string) => `(local.get $${name})`;
const load = (addr: string) => `(v128.load ${addr})`;
const store = (addr: string, value: string) => `(v128.store ${addr} ${value})`;
const add = (a: string, b: string) => `(f64x2.add ${a} ${b})`;
const sub = (a: string, b: string) => `(f64x2.sub ${a} ${b})`;
const mul = (a: string, b: string) => `(f64x2.mul ${a} ${b})`;
const set = (name: string, value: string) => `(local.set $${name} ${value})`;
/** Byte address base + 8·index (index an i32 expression). */
const at = (base: string, index: string) => `(i32.add ${base} (i32.shl ${index} (i32.const 3)))`;
const locals = (names: string[], type = 'v128') => names.map((n) => `(local $${n} ${type})`).join(' ');

/**
 * Complex products and multiply-accumulates, plain (separate mul and add, each rounded) or fused
 * with relaxed SIMD (`f64x2.relaxed_madd` a·b + c and `relaxed_nmadd` −a·b + c: one rounding
 * where the platform has FMA, mul + add where it does not; either is correct, the rounding differs).
 * re/im: (ar + i·ai)(br + i·bi); the conj forms multiply by (br − i·bi); acc forms add to s.
 */
export interface Arith {
  re(ar: string, ai: string, br: string, bi: string): string;
  im(ar: string, ai: string, br: string, bi: string): string;
  reConj(ar: string, ai: string, br: string, bi: string): string;
  imConj(ar: string, ai: string, br: string, bi: string): string;
  accRe(s: string, ar: string, ai: string, br: string, bi: string): string;
  accIm(s: string, ar: string, ai: string, br: string, bi: string): string;
  /** a·b + c */
  mulAdd(a: string, b: string, c: string): string;
}

const PLAIN: Arith = {
  re: (ar, ai, br, bi) => sub(mul(ar, br), mul(ai, bi)),
  im: (ar, ai, br, bi) => add(mul(ar, bi), mul(ai, br)),
  reConj: (ar, ai, br, bi) => add(mul(ar, br), mul(ai, bi)),
  imConj: (ar, ai, br, bi) => sub(mul(ai, br), mul(ar, bi)),
  accRe: (s, ar, ai, br, bi) => add(s, sub(mul(ar, br), mul(ai, bi))),
  accIm: (s, ar, ai, br, bi) => add(s, add(mul(ar, bi), mul(ai, br))),
  mulAdd: (a, b, c) => add(mul(a, b), c),
};

const madd = (a: string, b: string, c: string) => `(f64x2.relaxed_madd ${a} ${b} ${c})`;
const nmadd = (a: string, b: string, c: string) => `(f64x2.relaxed_nmadd ${a} ${b} ${c})`;
const FUSED: Arith = {
  re: (ar, ai, br, bi) => nmadd(ai, bi, mul(ar, br)),
  im: (ar, ai, br, bi) => madd(ai, br, mul(ar, bi)),
  reConj: (ar, ai, br, bi) => madd(ai, bi, mul(ar, br)),
  imConj: (ar, ai, br, bi) => nmadd(ar, bi, mul(ai, br)),
  accRe: (s, ar, ai, br, bi) => nmadd(ai, bi, madd(ar, br, s)),
  accIm: (s, ar, ai, br, bi) => madd(ai, br, madd(ar, bi, s)),
  mulAdd: madd,
};

/**
 * The radix-4 butterfly on x0..x3 (re/im locals), in place: sums and differences of the pairs
 * (0, 2) and (1, 3), then y1 = d02 ∓ i·d13 and y3 = d02 ± i·d13 (DIF forward: −i for y1; DIT
 * backward: +i).
 */
function radix4Core(forward: boolean): string {
  const s = forward ? 1 : -1;
  const plusOrMinus = (sign: number, a: string, b: string) => (sign > 0 ? add(a, b) : sub(a, b));
  return [
    set('s02r', add(V('x0r'), V('x2r'))),
    set('s02i', add(V('x0i'), V('x2i'))),
    set('d02r', sub(V('x0r'), V('x2r'))),
    set('d02i', sub(V('x0i'), V('x2i'))),
    set('s13r', add(V('x1r'), V('x3r'))),
    set('s13i', add(V('x1i'), V('x3i'))),
    set('d13r', sub(V('x1r'), V('x3r'))),
    set('d13i', sub(V('x1i'), V('x3i'))),
    set('x0r', add(V('s02r'), V('s13r'))),
    set('x0i', add(V('s02i'), V('s13i'))),
    set('x1r', plusOrMinus(s, V('d02r'), V('d13i'))),
    set('x1i', plusOrMinus(-s, V('d02i'), V('d13r'))),
    set('x2r', sub(V('s02r'), V('s13r'))),
    set('x2i', sub(V('s02i'), V('s13i'))),
    set('x3r', plusOrMinus(-s, V('d02r'), V('d13i'))),
    set('x3i', plusOrMinus(s, V('d02i'), V('d13r'))),
  ].join('\n');
}

/** x_k ← x_k · w (or · conj(w)), w from the twiddle locals w{k}r/w{k}i. */
function twiddle(f: Arith, k: number, conj: boolean): string {
  const xr = V(`x${k}r`),
    xi = V(`x${k}i`),
    wr = V(`w${k}r`),
    wi = V(`w${k}i`);
  if (conj) {
    return [set('tr', f.reConj(xr, xi, wr, wi)), set(`x${k}i`, f.imConj(xr, xi, wr, wi)), set(`x${k}r`, V('tr'))].join('\n');
  }
  return [set('tr', f.re(xr, xi, wr, wi)), set(`x${k}i`, f.im(xr, xi, wr, wi)), set(`x${k}r`, V('tr'))].join('\n');
}

const X_LOCALS = [
  'x0r',
  'x0i',
  'x1r',
  'x1i',
  'x2r',
  'x2i',
  'x3r',
  'x3i',
  's02r',
  's02i',
  'd02r',
  'd02i',
  's13r',
  's13i',
  'd13r',
  'd13i',
  'w1r',
  'w1i',
  'w2r',
  'w2i',
  'w3r',
  'w3i',
  'tr',
];

/** Loads (or stores) x0..x3 at element indices i0..i3 of re/im. */
function loadX(): string {
  return [0, 1, 2, 3]
    .map((k) => `${set(`x${k}r`, load(at(V('re'), V(`i${k}`))))}\n${set(`x${k}i`, load(at(V('im'), V(`i${k}`))))}`)
    .join('\n');
}
function storeX(): string {
  return [0, 1, 2, 3]
    .map((k) => `${store(at(V('re'), V(`i${k}`)), V(`x${k}r`))}\n${store(at(V('im'), V(`i${k}`)), V(`x${k}i`))}`)
    .join('\n');
}
function loadW(): string {
  // Stage table: w1r[q], w1i[q], w2r[q], w2i[q], w3r[q], w3i[q].
  const names = ['w1r', 'w1i', 'w2r', 'w2i', 'w3r', 'w3i'];
  return names.map((n, t) => set(n, load(at(V('tw'), `(i32.add (i32.mul (local.get $q) (i32.const ${t})) (local.get $j))`)))).join('\n');
}

/** One radix-4 stage over all blocks (q ≥ 2), forward (DIF) or backward (DIT). */
function radix4Stage(f: Arith, name: string, forward: boolean): string {
  const body = forward
    ? `${loadX()}\n${radix4Core(true)}\n${twiddle(f, 1, false)}\n${twiddle(f, 2, false)}\n${twiddle(f, 3, false)}\n${storeX()}`
    : `${loadX()}\n${twiddle(f, 1, true)}\n${twiddle(f, 2, true)}\n${twiddle(f, 3, true)}\n${radix4Core(false)}\n${storeX()}`;
  return `
  (func $${name} (param $re i32) (param $im i32) (param $m i32) (param $len i32) (param $tw i32)
    (local $q i32) (local $b i32) (local $j i32) (local $i0 i32) (local $i1 i32) (local $i2 i32) (local $i3 i32)
    ${locals(X_LOCALS)}
    (local.set $q (i32.shr_u (local.get $len) (i32.const 2)))
    (local.set $b (i32.const 0))
    (block $bdone (loop $blocks
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $m)))
      (local.set $j (i32.const 0))
      (block $jdone (loop $js
        (br_if $jdone (i32.ge_u (local.get $j) (local.get $q)))
        (local.set $i0 (i32.add (local.get $b) (local.get $j)))
        (local.set $i1 (i32.add (local.get $i0) (local.get $q)))
        (local.set $i2 (i32.add (local.get $i1) (local.get $q)))
        (local.set $i3 (i32.add (local.get $i2) (local.get $q)))
        ${loadW()}
        ${body}
        (local.set $j (i32.add (local.get $j) (i32.const 2)))
        (br $js)))
      (local.set $b (i32.add (local.get $b) (local.get $len)))
      (br $blocks))))`;
}

/**
 * A radix-4 stage of fixed length `len` (so q = len/4 is a constant): every load and store is a
 * pointer plus an immediate offset, the pointers advance by 16 bytes per step, and short blocks
 * (q ≤ 8) are unrolled. About 10% faster than `radix4Stage` under V8, whose address arithmetic
 * it saves. Same butterflies, so the same bits.
 */
function radix4StageFixed(f: Arith, name: string, forward: boolean, len: number): string {
  const q = len / 4;
  const ld = (ptr: string, off: number) => `(v128.load offset=${off} ${V(ptr)})`;
  const st = (ptr: string, off: number, v: string) => `(v128.store offset=${off} ${V(ptr)} ${v})`;
  const loadXs = [0, 1, 2, 3].map((k) => `${set(`x${k}r`, ld('pr', 8 * q * k))}\n${set(`x${k}i`, ld('pi', 8 * q * k))}`).join('\n');
  const storeXs = [0, 1, 2, 3].map((k) => `${st('pr', 8 * q * k, V(`x${k}r`))}\n${st('pi', 8 * q * k, V(`x${k}i`))}`).join('\n');
  const loadWs = ['w1r', 'w1i', 'w2r', 'w2i', 'w3r', 'w3i'].map((n, t) => set(n, ld('pt', 8 * q * t))).join('\n');
  const body = forward
    ? `${loadXs}\n${radix4Core(true)}\n${loadWs}\n${twiddle(f, 1, false)}\n${twiddle(f, 2, false)}\n${twiddle(f, 3, false)}\n${storeXs}`
    : `${loadXs}\n${loadWs}\n${twiddle(f, 1, true)}\n${twiddle(f, 2, true)}\n${twiddle(f, 3, true)}\n${radix4Core(false)}\n${storeXs}`;
  return `
  (func $${name} (param $re i32) (param $im i32) (param $m i32) (param $tw i32)
    (local $pr i32) (local $pi i32) (local $pt i32) (local $blockEnd i32) (local $end i32)
    ${locals(X_LOCALS)}
    (local.set $pr (local.get $re))
    (local.set $pi (local.get $im))
    (local.set $end (i32.add (local.get $re) (i32.shl (local.get $m) (i32.const 3))))
    (block $bdone (loop $blocks
      (br_if $bdone (i32.ge_u (local.get $pr) (local.get $end)))
      (local.set $pt (local.get $tw))
      ${
        q <= 8
          ? Array.from(
              { length: q / 2 },
              () => `${body}
        (local.set $pr (i32.add (local.get $pr) (i32.const 16)))
        (local.set $pi (i32.add (local.get $pi) (i32.const 16)))
        (local.set $pt (i32.add (local.get $pt) (i32.const 16)))`,
            ).join('\n')
          : `(local.set $blockEnd (i32.add (local.get $pr) (i32.const ${8 * q})))
      (loop $js
        ${body}
        (local.set $pr (i32.add (local.get $pr) (i32.const 16)))
        (local.set $pi (i32.add (local.get $pi) (i32.const 16)))
        (local.set $pt (i32.add (local.get $pt) (i32.const 16)))
        (br_if $js (i32.lt_u (local.get $pr) (local.get $blockEnd))))`
      }
      ;; past the block's other three quarters
      (local.set $pr (i32.add (local.get $pr) (i32.const ${24 * q})))
      (local.set $pi (i32.add (local.get $pi) (i32.const ${24 * q})))
      (br $blocks))))`;
}

/**
 * The backward DFT of M = 4^e points (N = 2M = 2048 here) with the untwist and accumulator update
 * fused into its last radix-4 stage: the stage's four outputs y_k are multiplied by the untwist
 * and added to acc straight from registers (acc[j] += Re(y_j·u_j), acc[j+M] += Im(y_j·u_j),
 * reduced to the centred range) instead of being stored and read back by `untwist_add`. The same
 * operations on the same values, so the same bits as `fft_bwd` + `untwist_add`.
 */
function backwardUntwistFixed(f: Arith, m: number): string {
  const q = m / 4;
  const h = 8 * m;
  const ld = (ptr: string, off: number) => `(v128.load offset=${off} ${V(ptr)})`;
  const loadXs = [0, 1, 2, 3].map((k) => `${set(`x${k}r`, ld('pr', 8 * q * k))}\n${set(`x${k}i`, ld('pr', h + 8 * q * k))}`).join('\n');
  const loadWs = ['w1r', 'w1i', 'w2r', 'w2i', 'w3r', 'w3i'].map((n, t) => set(n, ld('pt', 8 * q * t))).join('\n');
  const reduce = (x: string) => sub(x, sub(add(x, V('q')), V('q')));
  const update = [0, 1, 2, 3]
    .map(
      (k) => `
      (local.set $ur ${ld('pu', 8 * q * k)})
      (local.set $ui ${ld('pu', h + 8 * q * k)})
      (local.set $tr ${f.accRe(ld('pa', 8 * q * k), V(`x${k}r`), V(`x${k}i`), V('ur'), V('ui'))})
      (v128.store offset=${8 * q * k} (local.get $pa) ${reduce(V('tr'))})
      (local.set $tr ${f.accIm(ld('pa', h + 8 * q * k), V(`x${k}r`), V(`x${k}i`), V('ur'), V('ui'))})
      (v128.store offset=${h + 8 * q * k} (local.get $pa) ${reduce(V('tr'))})`,
    )
    .join('');
  // Earlier stages' twiddle tables sit after the first (length-M) stage's, in forward order.
  const calls: string[] = [`(call $last_bwd (local.get $re) (i32.add (local.get $re) (i32.const ${h})) (i32.const ${m}))`];
  let offset = 0;
  const offsets = new Map<number, number>();
  for (let len = m; len >= 16; len /= 4) {
    offsets.set(len, offset);
    offset += 8 * 6 * (len / 4);
  }
  for (let len = 16; len < m; len *= 4) {
    calls.push(
      `(call $r4_bwd_${len} (local.get $re) (i32.add (local.get $re) (i32.const ${h})) (i32.const ${m}) (i32.add (local.get $tw) (i32.const ${offsets.get(len)})))`,
    );
  }
  return `
  ;; re: M real parts then M imaginary parts (destroyed); acc: the accumulator polynomial (N doubles).
  (func $bwd_untwist_${m} (param $re i32) (param $acc i32) (param $tw i32) (param $untwist i32)
    (local $pr i32) (local $pt i32) (local $pa i32) (local $pu i32) (local $end i32) (local $ur v128) (local $ui v128) (local $q v128)
    ${locals(X_LOCALS)}
    ${calls.join('\n    ')}
    (local.set $q (f64x2.splat (f64.const 1.2461512460483586e35)))
    (local.set $pr (local.get $re))
    (local.set $pt (local.get $tw))
    (local.set $pa (local.get $acc))
    (local.set $pu (local.get $untwist))
    (local.set $end (i32.add (local.get $re) (i32.const ${8 * q})))
    (loop $js
      ${loadXs}
      ${loadWs}
      ${twiddle(f, 1, true)}
      ${twiddle(f, 2, true)}
      ${twiddle(f, 3, true)}
      ${radix4Core(false)}
      ${update}
      (local.set $pr (i32.add (local.get $pr) (i32.const 16)))
      (local.set $pt (i32.add (local.get $pt) (i32.const 16)))
      (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
      (local.set $pu (i32.add (local.get $pu) (i32.const 16)))
      (br_if $js (i32.lt_u (local.get $pr) (local.get $end)))))`;
}

/** The radix-2 stage (first stage forward / last stage backward when log2 M is odd), table wr[h], wi[h]. */
function radix2Stage(f: Arith, name: string, forward: boolean): string {
  const core = forward
    ? [
        set('tr', sub(V('x0r'), V('x1r'))),
        set('ti', sub(V('x0i'), V('x1i'))),
        set('x0r', add(V('x0r'), V('x1r'))),
        set('x0i', add(V('x0i'), V('x1i'))),
        set('x1r', f.re(V('tr'), V('ti'), V('wr'), V('wi'))),
        set('x1i', f.im(V('tr'), V('ti'), V('wr'), V('wi'))),
      ]
    : [
        set('tr', f.reConj(V('x1r'), V('x1i'), V('wr'), V('wi'))),
        set('ti', f.imConj(V('x1r'), V('x1i'), V('wr'), V('wi'))),
        set('x1r', sub(V('x0r'), V('tr'))),
        set('x1i', sub(V('x0i'), V('ti'))),
        set('x0r', add(V('x0r'), V('tr'))),
        set('x0i', add(V('x0i'), V('ti'))),
      ];
  return `
  (func $${name} (param $re i32) (param $im i32) (param $m i32) (param $tw i32)
    (local $h i32) (local $j i32) (local $i0 i32) (local $i1 i32)
    ${locals(['x0r', 'x0i', 'x1r', 'x1i', 'wr', 'wi', 'tr', 'ti'])}
    (local.set $h (i32.shr_u (local.get $m) (i32.const 1)))
    (local.set $j (i32.const 0))
    (block $done (loop $js
      (br_if $done (i32.ge_u (local.get $j) (local.get $h)))
      (local.set $i0 (local.get $j))
      (local.set $i1 (i32.add (local.get $j) (local.get $h)))
      ${set('x0r', load(at(V('re'), V('i0'))))} ${set('x0i', load(at(V('im'), V('i0'))))}
      ${set('x1r', load(at(V('re'), V('i1'))))} ${set('x1i', load(at(V('im'), V('i1'))))}
      ${set('wr', load(at(V('tw'), V('j'))))} ${set('wi', load(at(V('tw'), '(i32.add (local.get $h) (local.get $j))')))}
      ${core.join('\n')}
      ${store(at(V('re'), V('i0')), V('x0r'))} ${store(at(V('im'), V('i0')), V('x0i'))}
      ${store(at(V('re'), V('i1')), V('x1r'))} ${store(at(V('im'), V('i1')), V('x1i'))}
      (local.set $j (i32.add (local.get $j) (i32.const 2)))
      (br $js))))`;
}

/**
 * The length-4 stage (no twiddles), one block of 4 points per step: lanes (x0, x1) and (x2, x3)
 * are combined, then regrouped with shuffles so each output pair is one add or subtract.
 */
function lastStage(name: string, forward: boolean): string {
  const lo = '0 1 2 3 4 5 6 7';
  const hi = '8 9 10 11 12 13 14 15';
  const lo2 = '16 17 18 19 20 21 22 23';
  const hi2 = '24 25 26 27 28 29 30 31';
  const shuf = (a: string, b: string, first: string, second: string) => `(i8x16.shuffle ${first} ${second} ${a} ${b})`;
  // forward: re pairs (s02r ± s13r, d02r ± d13i), im pairs (s02i ± s13i, d02i ∓ d13r);
  // backward: re (s02r ± s13r, d02r ∓ d13i), im (s02i ± s13i, d02i ± d13r).
  const qRe = forward ? shuf(V('s'), V('di'), hi, hi2) : shuf(V('s'), '(f64x2.neg (local.get $di))', hi, hi2);
  const qIm = forward ? shuf(V('si'), '(f64x2.neg (local.get $d))', hi, hi2) : shuf(V('si'), V('d'), hi, hi2);
  return `
  (func $${name} (param $re i32) (param $im i32) (param $m i32)
    (local $b i32) (local $pr i32) (local $pi i32)
    ${locals(['s', 'd', 'si', 'di', 'x', 'y', 'p', 'q'])}
    (local.set $b (i32.const 0))
    (block $done (loop $bs
      (br_if $done (i32.ge_u (local.get $b) (local.get $m)))
      (local.set $pr (i32.add (local.get $re) (i32.shl (local.get $b) (i32.const 3))))
      (local.set $pi (i32.add (local.get $im) (i32.shl (local.get $b) (i32.const 3))))
      ${set('x', '(v128.load (local.get $pr))')} ${set('y', '(v128.load offset=16 (local.get $pr))')}
      ${set('s', add(V('x'), V('y')))} ${set('d', sub(V('x'), V('y')))}
      ${set('x', '(v128.load (local.get $pi))')} ${set('y', '(v128.load offset=16 (local.get $pi))')}
      ${set('si', add(V('x'), V('y')))} ${set('di', sub(V('x'), V('y')))}
      ${set('p', shuf(V('s'), V('d'), lo, lo2))} ${set('q', qRe)}
      (v128.store (local.get $pr) ${add(V('p'), V('q'))})
      (v128.store offset=16 (local.get $pr) ${sub(V('p'), V('q'))})
      ${set('p', shuf(V('si'), V('di'), lo, lo2))} ${set('q', qIm)}
      (v128.store (local.get $pi) ${add(V('p'), V('q'))})
      (v128.store offset=16 (local.get $pi) ${sub(V('p'), V('q'))})
      (local.set $b (i32.add (local.get $b) (i32.const 4)))
      (br $bs))))`;
}

/** Stage lengths with a fixed-offset kernel: every radix-4 stage of N = 2048 and N = 4096. */
const FIXED_LENS = [16, 64, 256, 1024];

/** Calls the fixed-length stage kernel for `len` when there is one, else the generic stage. */
function radix4Dispatch(forward: boolean, tw: string): string {
  const dir = forward ? 'fwd' : 'bwd';
  let code = `(call $r4_${dir} (local.get $re) (local.get $im) (local.get $m) (local.get $len) ${tw})`;
  for (const len of FIXED_LENS) {
    code = `(if (i32.eq (local.get $len) (i32.const ${len}))
        (then (call $r4_${dir}_${len} (local.get $re) (local.get $im) (local.get $m) ${tw}))
        (else ${code}))`;
  }
  return code;
}

const FFT_DRIVERS = `
  ;; log2(m) odd ⇔ ctz(m) odd: one radix-2 stage at length m, then radix-4 stages.
  (func $fft_fwd (export "fft_fwd") (param $re i32) (param $im i32) (param $m i32) (param $tw i32)
    (local $len i32)
    (local.set $len (local.get $m))
    (if (i32.and (i32.ctz (local.get $m)) (i32.const 1)) (then
      (call $r2_fwd (local.get $re) (local.get $im) (local.get $m) (local.get $tw))
      (local.set $tw (i32.add (local.get $tw) (i32.shl (local.get $m) (i32.const 3))))
      (local.set $len (i32.shr_u (local.get $m) (i32.const 1)))))
    (block $done (loop $stages
      (br_if $done (i32.lt_u (local.get $len) (i32.const 8)))
      ${radix4Dispatch(true, '(local.get $tw)')}
      ;; 6·(len/4) doubles of twiddles per radix-4 stage
      (local.set $tw (i32.add (local.get $tw) (i32.mul (i32.shr_u (local.get $len) (i32.const 2)) (i32.const 48))))
      (local.set $len (i32.shr_u (local.get $len) (i32.const 2)))
      (br $stages)))
    (if (i32.eq (local.get $len) (i32.const 4)) (then (call $last_fwd (local.get $re) (local.get $im) (local.get $m)))))

  (func $fft_bwd (export "fft_bwd") (param $re i32) (param $im i32) (param $m i32) (param $tw i32) (param $twEnd i32)
    (local $len i32) (local $top i32)
    (local.set $top (local.get $m))
    (if (i32.and (i32.ctz (local.get $m)) (i32.const 1)) (then (local.set $top (i32.shr_u (local.get $m) (i32.const 1)))))
    (if (i32.ge_u (local.get $top) (i32.const 4)) (then (call $last_bwd (local.get $re) (local.get $im) (local.get $m))))
    (local.set $len (i32.const 16))
    (block $done (loop $stages
      (br_if $done (i32.gt_u (local.get $len) (local.get $top)))
      (local.set $twEnd (i32.sub (local.get $twEnd) (i32.mul (i32.shr_u (local.get $len) (i32.const 2)) (i32.const 48))))
      ${radix4Dispatch(false, '(local.get $twEnd)')}
      (local.set $len (i32.shl (local.get $len) (i32.const 2)))
      (br $stages)))
    (if (i32.and (i32.ctz (local.get $m)) (i32.const 1)) (then
      (call $r2_bwd (local.get $re) (local.get $im) (local.get $m) (local.get $tw)))))`;

/**
 * The rotation, decomposition and twist of one accumulator polynomial P for the forward DFT:
 * T = X^a·P − P, level-1 digits d = round(T·2^−(64−β)) centred mod 2^β, folded (d_j + i·d_{j+M})
 * and twisted by ψ^j (negacyclic FFT folding, see fft/negacyclic.ts).
 *
 * X^a·P is read in place: coefficient q of X^a·P is ±P[(q − a) mod N] (X^N = −1), so for each
 * of the two folded streams (positions j and j+M) the source is a contiguous run of P with one
 * sign, broken at one point B in [0, M]. Runs of pairs load straight from P (sign by xor of
 * the sign bit, exact); a pair straddling an odd B is assembled lane by lane.
 *
 * The digit of x = T·2^−(64−β) (|x| < 2^β ≤ 2^50) takes four operations, all exact but two
 * roundings that equal the TypeScript path's: u = x + K (K = 1.5·2^52, ulp 1, so u = K + round(x),
 * ties to even); w = u + K(2^β − 1) = round(x) + K·2^β rounded to a multiple of 2^β (its ulp), the
 * same rounding as nearest(round(x)·2^−β)·2^β; then d = u − (w − K(2^β − 1)), where the inner
 * difference is K + 2^β·nearest(…) exactly (Sterbenz) and the outer one round(x) − 2^β·nearest(…)
 * exactly. x·2^−(64−β) is exact, so the fused form of x·scale + K rounds the same as the plain one.
 * {@link fixedM}: M = N/2 known, so the second halves are immediate offsets (see radix4StageFixed).
 */
function rotateSubTwist(f: Arith, fixedM: number | null): string {
  const suffix = fixedM === null ? '' : `_${fixedM}`;
  // v128 at ptr + 8M bytes (the second half of a folded polynomial or of the twist table)
  const half = (ptr: string) =>
    fixedM === null ? `(v128.load (i32.add (local.get $${ptr}) (local.get $h)))` : `(v128.load offset=${8 * fixedM} (local.get $${ptr}))`;
  const storeHalf = (ptr: string, v: string) =>
    fixedM === null
      ? `(v128.store (i32.add (local.get $${ptr}) (local.get $h)) ${v})`
      : `(v128.store offset=${8 * fixedM} (local.get $${ptr}) ${v})`;
  const digit = (x: string, out: string) =>
    [set(out, f.mulAdd(x, V('scale'), V('k'))), set(out, sub(V(out), sub(add(V(out), V('c')), V('c'))))].join('\n');
  // r1, r2: the rotated coefficients at positions j, j+1 and j+M, j+M+1 (pa points at P[j], pt at ψ^j, po at the output).
  const body = `
      (local.set $t1 ${sub(V('r1'), '(v128.load (local.get $pa))')})
      (local.set $t2 ${sub(V('r2'), half('pa'))})
      ${digit(V('t1'), 't1')}
      ${digit(V('t2'), 't2')}
      (local.set $twr (v128.load (local.get $pt)))
      (local.set $twi ${half('pt')})
      (v128.store (local.get $po) ${f.re(V('t1'), V('t2'), V('twr'), V('twi'))})
      ${storeHalf('po', f.im(V('t1'), V('t2'), V('twr'), V('twi')))}`;
  const params = `(param $acc i32) (param $shift i32) (param $n i32) (param $out i32) (param $twist i32) (param $sgn i64)
      (param $scale v128) (param $k v128) (param $c v128)`;
  const commonLocals = `(local $h i32) (local $pa i32) (local $pt i32) (local $po i32)
    (local $r1 v128) (local $r2 v128) (local $t1 v128) (local $t2 v128) (local $twr v128) (local $twi v128)`;
  // Byte address of P's source coefficient for position q, and the xor mask of its sign.
  const srcAddr = (q: string) =>
    `(i32.add (local.get $acc) (i32.shl (i32.add (i32.sub ${q} (local.get $shift)) (select (local.get $n) (i32.const 0) (i32.lt_u ${q} (local.get $shift)))) (i32.const 3)))`;
  const srcMask = (q: string) =>
    `(i64.xor (local.get $sgn) (select (i64.const 0x8000000000000000) (i64.const 0) (i32.lt_u ${q} (local.get $shift))))`;
  const pointers = `
    (local.set $h (i32.shl (local.get $n) (i32.const 2)))
    (local.set $pa (i32.add (local.get $acc) (i32.shl (local.get $cs) (i32.const 3))))
    (local.set $pt (i32.add (local.get $twist) (i32.shl (local.get $cs) (i32.const 3))))
    (local.set $po (i32.add (local.get $out) (i32.shl (local.get $cs) (i32.const 3))))`;
  return `
  ;; Positions cs..ce−1 (an even count) of both streams, each stream one contiguous signed run.
  (func $rst_run${suffix} ${params} (param $cs i32) (param $ce i32)
    ${commonLocals} (local $p1 i32) (local $p2 i32) (local $m1 v128) (local $m2 v128) (local $end i32)
    ${pointers}
    (local.set $p1 ${srcAddr('(local.get $cs)')})
    (local.set $m1 (i64x2.splat ${srcMask('(local.get $cs)')}))
    (local.set $p2 ${srcAddr('(i32.add (local.get $cs) (i32.shr_u (local.get $n) (i32.const 1)))')})
    (local.set $m2 (i64x2.splat ${srcMask('(i32.add (local.get $cs) (i32.shr_u (local.get $n) (i32.const 1)))')}))
    (local.set $end (i32.add (local.get $pa) (i32.shl (i32.sub (local.get $ce) (local.get $cs)) (i32.const 3))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $pa) (local.get $end)))
      (local.set $r1 (v128.xor (v128.load (local.get $p1)) (local.get $m1)))
      (local.set $r2 (v128.xor (v128.load (local.get $p2)) (local.get $m2)))
      ${body}
      (local.set $p1 (i32.add (local.get $p1) (i32.const 16)))
      (local.set $p2 (i32.add (local.get $p2) (i32.const 16)))
      (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
      (local.set $pt (i32.add (local.get $pt) (i32.const 16)))
      (local.set $po (i32.add (local.get $po) (i32.const 16)))
      (br $l))))

  ;; The pair of positions cs, cs+1 whose lanes come from different runs.
  (func $rst_pair${suffix} ${params} (param $cs i32)
    ${commonLocals} (local $q i32)
    ${pointers}
    (local.set $q (i32.add (local.get $cs) (i32.const 1)))
    (local.set $r1 (v128.xor
      (f64x2.replace_lane 1 (f64x2.splat (f64.load ${srcAddr('(local.get $cs)')})) (f64.load ${srcAddr('(local.get $q)')}))
      (i64x2.replace_lane 1 (i64x2.splat ${srcMask('(local.get $cs)')}) ${srcMask('(local.get $q)')})))
    (local.set $cs (i32.add (local.get $cs) (i32.shr_u (local.get $n) (i32.const 1))))
    (local.set $q (i32.add (local.get $q) (i32.shr_u (local.get $n) (i32.const 1))))
    (local.set $r2 (v128.xor
      (f64x2.replace_lane 1 (f64x2.splat (f64.load ${srcAddr('(local.get $cs)')})) (f64.load ${srcAddr('(local.get $q)')}))
      (i64x2.replace_lane 1 (i64x2.splat ${srcMask('(local.get $cs)')}) ${srcMask('(local.get $q)')})))
    ${body})

  ;; out (M real parts, then M imaginary parts) = twisted digits of X^a·P − P, a in [0, 2N).
  (func $rotate_sub_twist${suffix} ${fixedM === null ? '(export "rotate_sub_twist")' : ''} (param $acc i32) (param $a i32) (param $n i32)
      (param $out i32) (param $twist i32) (param $digitScale f64) (param $base f64)
    (local $shift i32) (local $m i32) (local $b i32) (local $sgn i64) (local $scale v128) (local $k v128) (local $c v128)
    (local.set $shift (i32.and (local.get $a) (i32.sub (local.get $n) (i32.const 1))))
    ;; X^a = −X^(a−N) for a ≥ N: one global sign on top of the wrap sign.
    (local.set $sgn (select (i64.const 0x8000000000000000) (i64.const 0) (i32.ge_u (local.get $a) (local.get $n))))
    (local.set $m (i32.shr_u (local.get $n) (i32.const 1)))
    ;; the one break point in [0, M]: stream j wraps below shift, stream j+M below shift − M
    (local.set $b (select (local.get $shift) (i32.sub (local.get $shift) (local.get $m)) (i32.le_u (local.get $shift) (local.get $m))))
    (local.set $scale (f64x2.splat (local.get $digitScale)))
    (local.set $k (f64x2.splat (f64.const 6755399441055744)))
    (local.set $c (f64x2.splat (f64.mul (f64.const 6755399441055744) (f64.sub (local.get $base) (f64.const 1)))))
    (call $rst_run${suffix} (local.get $acc) (local.get $shift) (local.get $n) (local.get $out) (local.get $twist) (local.get $sgn)
      (local.get $scale) (local.get $k) (local.get $c) (i32.const 0) (i32.and (local.get $b) (i32.const -2)))
    (if (i32.and (local.get $b) (i32.const 1)) (then
      (call $rst_pair${suffix} (local.get $acc) (local.get $shift) (local.get $n) (local.get $out) (local.get $twist) (local.get $sgn)
        (local.get $scale) (local.get $k) (local.get $c) (i32.sub (local.get $b) (i32.const 1)))))
    (call $rst_run${suffix} (local.get $acc) (local.get $shift) (local.get $n) (local.get $out) (local.get $twist) (local.get $sgn)
      (local.get $scale) (local.get $k) (local.get $c) (i32.and (i32.add (local.get $b) (i32.const 1)) (i32.const -2)) (local.get $m)))`;
}

const macRows = (f: Arith) => `
  ;; o = Σ_{r<rows} d_r·b_r pointwise (complex, split re/im: d_r at d + r·dStride, imaginary parts
  ;; M values after the real ones; likewise b_r at b + r·bStride). Overwrites o.
  (func $mac_rows (export "mac_rows") (param $d i32) (param $dStride i32) (param $b i32) (param $bStride i32)
      (param $rows i32) (param $o i32) (param $m i32)
    (local $j i32) (local $off i32) (local $half i32) (local $r i32) (local $pd i32) (local $pb i32)
    (local $dr v128) (local $di v128) (local $br v128) (local $bi v128) (local $sr v128) (local $si v128)
    (local.set $half (i32.shl (local.get $m) (i32.const 3)))
    (local.set $j (i32.const 0))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $j) (local.get $m)))
      (local.set $off (i32.shl (local.get $j) (i32.const 3)))
      (local.set $sr (v128.const f64x2 0 0))
      (local.set $si (v128.const f64x2 0 0))
      (local.set $pd (i32.add (local.get $d) (local.get $off)))
      (local.set $pb (i32.add (local.get $b) (local.get $off)))
      (local.set $r (i32.const 0))
      (block $rdone (loop $rl
        (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $dr (v128.load (local.get $pd)))
        (local.set $di (v128.load (i32.add (local.get $pd) (local.get $half))))
        (local.set $br (v128.load (local.get $pb)))
        (local.set $bi (v128.load (i32.add (local.get $pb) (local.get $half))))
        (local.set $sr ${f.accRe(V('sr'), V('dr'), V('di'), V('br'), V('bi'))})
        (local.set $si ${f.accIm(V('si'), V('dr'), V('di'), V('br'), V('bi'))})
        (local.set $pd (i32.add (local.get $pd) (local.get $dStride)))
        (local.set $pb (i32.add (local.get $pb) (local.get $bStride)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rl)))
      (v128.store (i32.add (local.get $o) (local.get $off)) (local.get $sr))
      (v128.store (i32.add (i32.add (local.get $o) (local.get $half)) (local.get $off)) (local.get $si))
      (local.set $j (i32.add (local.get $j) (i32.const 2)))
      (br $l))))`;

const macK1 = (f: Arith) => `
  ;; k = 1 (two rows, two output polynomials) in one pass: o_p = d_0·b_{0,p} + d_1·b_{1,p}, with
  ;; b_{r,p} at b + (2r + p)·P and d_r, o_p at d + r·P, o + p·P (P = 8N bytes, imaginary parts M
  ;; values after the real ones). The digits are loaded once for both outputs; each sum is the
  ;; one mac_rows forms (row 0 then row 1), so the values are the same.
  (func $mac_k1 (param $d i32) (param $b i32) (param $o i32) (param $p i32) (param $m i32)
    (local $off i32) (local $end i32) (local $h i32)
    (local $pd0 i32) (local $pd1 i32) (local $pb00 i32) (local $pb01 i32) (local $pb10 i32) (local $pb11 i32) (local $po0 i32) (local $po1 i32)
    (local $d0r v128) (local $d0i v128) (local $d1r v128) (local $d1i v128) (local $br v128) (local $bi v128)
    (local $sr v128) (local $si v128)
    (local.set $h (i32.shl (local.get $m) (i32.const 3)))
    (local.set $end (local.get $h))
    (local.set $off (i32.const 0))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $off) (local.get $end)))
      (local.set $pd0 (i32.add (local.get $d) (local.get $off)))
      (local.set $pd1 (i32.add (local.get $pd0) (local.get $p)))
      (local.set $pb00 (i32.add (local.get $b) (local.get $off)))
      (local.set $pb01 (i32.add (local.get $pb00) (local.get $p)))
      (local.set $pb10 (i32.add (local.get $pb01) (local.get $p)))
      (local.set $pb11 (i32.add (local.get $pb10) (local.get $p)))
      (local.set $po0 (i32.add (local.get $o) (local.get $off)))
      (local.set $po1 (i32.add (local.get $po0) (local.get $p)))
      (local.set $d0r (v128.load (local.get $pd0)))
      (local.set $d0i (v128.load (i32.add (local.get $pd0) (local.get $h))))
      (local.set $d1r (v128.load (local.get $pd1)))
      (local.set $d1i (v128.load (i32.add (local.get $pd1) (local.get $h))))
      ${[0, 1]
        .map(
          (p) => `
      (local.set $br (v128.load (local.get $pb0${p})))
      (local.set $bi (v128.load (i32.add (local.get $pb0${p}) (local.get $h))))
      (local.set $sr ${f.re(V('d0r'), V('d0i'), V('br'), V('bi'))})
      (local.set $si ${f.im(V('d0r'), V('d0i'), V('br'), V('bi'))})
      (local.set $br (v128.load (local.get $pb1${p})))
      (local.set $bi (v128.load (i32.add (local.get $pb1${p}) (local.get $h))))
      (v128.store (local.get $po${p})
        ${f.accRe(V('sr'), V('d1r'), V('d1i'), V('br'), V('bi'))})
      (v128.store (i32.add (local.get $po${p}) (local.get $h))
        ${f.accIm(V('si'), V('d1r'), V('d1i'), V('br'), V('bi'))})`,
        )
        .join('')}
      (local.set $off (i32.add (local.get $off) (i32.const 16)))
      (br $l))))`;

const ROTATE_ARGS = `(i32.add (local.get $accC) (local.get $at)) (local.get $a) (local.get $bigN)
                  (i32.add (local.get $fd) (local.get $at)) (local.get $twist) (local.get $digitScale) (local.get $digitBase)`;

/** M = N/2 with fixed-offset rotation, multiply-accumulate and untwist kernels (N = 2048 and 4096, as FIXED_LENS). */
const ROTATE_FIXED_M = [1024, 2048];

/** `generic` unless N = 2M for one of {@link ROTATE_FIXED_M}, then `fixed(M)`. */
function fixedDispatch(generic: string, fixed: (m: number) => string): string {
  return ROTATE_FIXED_M.reduce(
    (code, m) => `(if (i32.eq (local.get $bigN) (i32.const ${2 * m}))
                (then ${fixed(m)})
                (else ${code}))`,
    generic,
  );
}

const BLIND_ROTATE = `
  ;; The whole blind rotation loop of pbs-wasm.ts (level-1 decomposition), so the ~10 kernel calls
  ;; per mask element stay inside wasm, for \`count\` independent ciphertexts at once (batched
  ;; bootstrapping): for i < n, for each ciphertext c with a = switched_c[i] ≠ 0, per row r the
  ;; digits of X^a·ACC_r − ACC_r go through the forward DFT; then per output polynomial p the
  ;; multiply-accumulate with GGSW(s_i), the backward DFT and the accumulator update. GGSW(s_i)
  ;; (64 kB for k = 1, N = 2048) is read from memory once and then from cache for the other
  ;; ciphertexts, so a batch streams the 60 MB Fourier key once. Each ciphertext goes through the
  ;; same operations in the same order as alone, so its result is the same bits.
  ;; k1 = k + 1; polynomials are P = 8N bytes apart in acc, fd, fo; the Fourier BSK holds
  ;; k1·k1 polynomials per GGSW. Ciphertext c's switched values are at switched + c·switchedStride,
  ;; its accumulator at acc + c·accStride; fd, fo are shared scratch.
  (func (export "blind_rotate") (param $switched i32) (param $n i32) (param $k1 i32) (param $bigN i32)
      (param $acc i32) (param $fd i32) (param $fo i32) (param $twist i32) (param $untwist i32)
      (param $table i32) (param $tableEnd i32) (param $bsk i32) (param $digitScale f64) (param $digitBase f64)
      (param $count i32) (param $switchedStride i32) (param $accStride i32)
    (local $i i32) (local $a i32) (local $r i32) (local $m i32) (local $p i32) (local $h i32) (local $ggsw i32) (local $at i32)
    (local $c i32) (local $accC i32) (local $sw i32)
    (local.set $m (i32.shr_u (local.get $bigN) (i32.const 1)))
    (local.set $p (i32.shl (local.get $bigN) (i32.const 3)))
    (local.set $h (i32.shl (local.get $m) (i32.const 3)))
    (local.set $ggsw (i32.mul (i32.mul (local.get $k1) (local.get $k1)) (local.get $p)))
    (local.set $i (i32.const 0))
    (block $done (loop $masks
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $c (i32.const 0))
      (local.set $accC (local.get $acc))
      (local.set $sw (i32.add (local.get $switched) (i32.shl (local.get $i) (i32.const 2))))
      (block $cdone (loop $cts
        (br_if $cdone (i32.ge_u (local.get $c) (local.get $count)))
        (local.set $a (i32.load (local.get $sw)))
        (if (i32.ne (local.get $a) (i32.const 0)) (then
            (local.set $r (i32.const 0))
            (block $rdone (loop $rows
              (br_if $rdone (i32.ge_u (local.get $r) (local.get $k1)))
              (local.set $at (i32.mul (local.get $r) (local.get $p)))
              ${fixedDispatch(`(call $rotate_sub_twist ${ROTATE_ARGS})`, (m) => `(call $rotate_sub_twist_${m} ${ROTATE_ARGS})`)}
              (call $fft_fwd (i32.add (local.get $fd) (local.get $at)) (i32.add (i32.add (local.get $fd) (local.get $at)) (local.get $h))
                (local.get $m) (local.get $table))
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br $rows)))
            (if (i32.eq (local.get $k1) (i32.const 2))
              (then ${fixedDispatch('(call $mac_k1 (local.get $fd) (local.get $bsk) (local.get $fo) (local.get $p) (local.get $m))', (m) => `(call $mac_k1_${m} (local.get $fd) (local.get $bsk) (local.get $fo))`)})
              (else
                (local.set $r (i32.const 0))
                (block $mdone (loop $macs
                  (br_if $mdone (i32.ge_u (local.get $r) (local.get $k1)))
                  (local.set $at (i32.mul (local.get $r) (local.get $p)))
                  ;; output r = Σ_row digits_row · GGSW[row][poly r]; rows are k1 polynomials apart
                  (call $mac_rows (local.get $fd) (local.get $p) (i32.add (local.get $bsk) (local.get $at))
                    (i32.mul (local.get $k1) (local.get $p)) (local.get $k1) (i32.add (local.get $fo) (local.get $at)) (local.get $m))
                  (local.set $r (i32.add (local.get $r) (i32.const 1)))
                  (br $macs)))))
            (local.set $r (i32.const 0))
            (block $bdone (loop $outs
              (br_if $bdone (i32.ge_u (local.get $r) (local.get $k1)))
              (local.set $at (i32.mul (local.get $r) (local.get $p)))
              ${fixedDispatch(
                `(call $fft_bwd (i32.add (local.get $fo) (local.get $at)) (i32.add (i32.add (local.get $fo) (local.get $at)) (local.get $h))
                (local.get $m) (local.get $table) (local.get $tableEnd))
                (call $untwist_add (i32.add (local.get $fo) (local.get $at)) (i32.add (i32.add (local.get $fo) (local.get $at)) (local.get $h))
                (i32.add (local.get $accC) (local.get $at)) (local.get $m) (local.get $untwist))`,
                (m) =>
                  Math.log2(m) % 2 === 0
                    ? `(call $bwd_untwist_${m} (i32.add (local.get $fo) (local.get $at)) (i32.add (local.get $accC) (local.get $at)) (local.get $table) (local.get $untwist))`
                    : `(call $fft_bwd (i32.add (local.get $fo) (local.get $at)) (i32.add (i32.add (local.get $fo) (local.get $at)) (local.get $h))
                (local.get $m) (local.get $table) (local.get $tableEnd))
                (call $untwist_add_${m} (i32.add (local.get $fo) (local.get $at)) (i32.add (local.get $accC) (local.get $at)) (local.get $untwist))`,
              )}
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br $outs)))))
        (local.set $sw (i32.add (local.get $sw) (local.get $switchedStride)))
        (local.set $accC (i32.add (local.get $accC) (local.get $accStride)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $cts)))
      (local.set $bsk (i32.add (local.get $bsk) (local.get $ggsw)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $masks))))`;

const untwistAdd = (f: Arith) => `
  ;; acc[j] += Re(y_j), acc[j+M] += Im(y_j) with y = o·untwist; then x − 2^64·round(x/2^64).
  (func $untwist_add (export "untwist_add") (param $oRe i32) (param $oIm i32) (param $acc i32) (param $m i32) (param $untwist i32)
    (local $j i32) (local $o i32) (local $yr v128) (local $yi v128) (local $ur v128) (local $ui v128)
    (local $x v128) (local $q v128)
    ;; (x + 1.5·2^116) − 1.5·2^116 is x rounded to a multiple of 2^64, ties to even (the sum's ulp is
    ;; 2^64 for |x| < 2^115; |x| < 2^98 here): the same value as 2^64·nearest(x·2^−64).
    (local.set $q (f64x2.splat (f64.const 1.2461512460483586e35)))
    (local.set $j (i32.const 0))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $j) (local.get $m)))
      (local.set $o (i32.shl (local.get $j) (i32.const 3)))
      (local.set $yr (v128.load (i32.add (local.get $oRe) (local.get $o))))
      (local.set $yi (v128.load (i32.add (local.get $oIm) (local.get $o))))
      (local.set $ur (v128.load (i32.add (local.get $untwist) (local.get $o))))
      (local.set $ui (v128.load (i32.add (local.get $untwist) (i32.add (local.get $o) (i32.shl (local.get $m) (i32.const 3))))))
      (local.set $x ${f.accRe('(v128.load (i32.add (local.get $acc) (local.get $o)))', V('yr'), V('yi'), V('ur'), V('ui'))})
      (v128.store (i32.add (local.get $acc) (local.get $o))
        (f64x2.sub (local.get $x) (f64x2.sub (f64x2.add (local.get $x) (local.get $q)) (local.get $q))))
      (local.set $x ${f.accIm('(v128.load (i32.add (local.get $acc) (i32.add (local.get $o) (i32.shl (local.get $m) (i32.const 3)))))', V('yr'), V('yi'), V('ur'), V('ui'))})
      (v128.store (i32.add (local.get $acc) (i32.add (local.get $o) (i32.shl (local.get $m) (i32.const 3))))
        (f64x2.sub (local.get $x) (f64x2.sub (f64x2.add (local.get $x) (local.get $q)) (local.get $q))))
      (local.set $j (i32.add (local.get $j) (i32.const 2)))
      (br $l))))`;

/**
 * `mac_k1` for a fixed M (N = 2M): the digits, key and output polynomials are each one pointer
 * plus immediate offsets (P = 16M bytes per polynomial, imaginary parts 8M bytes on), so a step
 * costs three pointer increments instead of sixteen address computations. Same products in the
 * same order as `mac_k1`, so the same bits.
 */
function macK1Fixed(f: Arith, m: number): string {
  const h = 8 * m;
  const P = 16 * m;
  const ld = (ptr: string, off: number) => `(v128.load offset=${off} (local.get $${ptr}))`;
  return `
  (func $mac_k1_${m} (param $d i32) (param $b i32) (param $o i32)
    (local $end i32) (local $d0r v128) (local $d0i v128) (local $d1r v128) (local $d1i v128) (local $br v128) (local $bi v128)
    (local $sr v128) (local $si v128)
    (local.set $end (i32.add (local.get $d) (i32.const ${h})))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $d) (local.get $end)))
      (local.set $d0r ${ld('d', 0)})
      (local.set $d0i ${ld('d', h)})
      (local.set $d1r ${ld('d', P)})
      (local.set $d1i ${ld('d', P + h)})
      ${[0, 1]
        .map(
          (p) => `
      (local.set $br ${ld('b', p * P)})
      (local.set $bi ${ld('b', p * P + h)})
      (local.set $sr ${f.re(V('d0r'), V('d0i'), V('br'), V('bi'))})
      (local.set $si ${f.im(V('d0r'), V('d0i'), V('br'), V('bi'))})
      (local.set $br ${ld('b', (2 + p) * P)})
      (local.set $bi ${ld('b', (2 + p) * P + h)})
      (v128.store offset=${p * P} (local.get $o) ${f.accRe(V('sr'), V('d1r'), V('d1i'), V('br'), V('bi'))})
      (v128.store offset=${p * P + h} (local.get $o) ${f.accIm(V('si'), V('d1r'), V('d1i'), V('br'), V('bi'))})`,
        )
        .join('')}
      (local.set $d (i32.add (local.get $d) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $l))))`;
}

/** `untwist_add` for a fixed M: pointers plus immediate offsets, the same operations. */
function untwistAddFixed(f: Arith, m: number): string {
  const h = 8 * m;
  const reduce = (x: string) => sub(x, sub(add(x, V('q')), V('q')));
  return `
  (func $untwist_add_${m} (param $o i32) (param $acc i32) (param $untwist i32)
    (local $end i32) (local $yr v128) (local $yi v128) (local $ur v128) (local $ui v128) (local $x v128) (local $q v128)
    (local.set $q (f64x2.splat (f64.const 1.2461512460483586e35)))
    (local.set $end (i32.add (local.get $o) (i32.const ${h})))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (local.set $yr (v128.load (local.get $o)))
      (local.set $yi (v128.load offset=${h} (local.get $o)))
      (local.set $ur (v128.load (local.get $untwist)))
      (local.set $ui (v128.load offset=${h} (local.get $untwist)))
      (local.set $x ${f.accRe('(v128.load (local.get $acc))', V('yr'), V('yi'), V('ur'), V('ui'))})
      (v128.store (local.get $acc) ${reduce(V('x'))})
      (local.set $x ${f.accIm(`(v128.load offset=${h} (local.get $acc))`, V('yr'), V('yi'), V('ur'), V('ui'))})
      (v128.store offset=${h} (local.get $acc) ${reduce(V('x'))})
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (local.set $acc (i32.add (local.get $acc) (i32.const 16)))
      (local.set $untwist (i32.add (local.get $untwist) (i32.const 16)))
      (br $l))))`;
}

/**
 * tfhe-rs's balanced decomposition of input word i of ciphertext $inC (shared by both keyswitch
 * kernels): round to the top β·L bits, then the state whose base-2^β digits, least significant
 * level first, {@link KS_NEXT_DIGIT} pops (carry by the bit trick of tfhe-rs's decomposer).
 */
const KS_DECOMPOSE = `
        (local.set $x (i64.load (i32.add (local.get $inC) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $res (i64.shr_u (local.get $x) (i64.sub (i64.sub (i64.const 64) (local.get $rep)) (i64.const 1))))
        (local.set $rb (i64.and (local.get $res) (i64.const 1)))
        (local.set $res (i64.and (i64.shr_u (i64.add (local.get $res) (i64.const 1)) (i64.const 1))
          (i64.shr_u (i64.const -1) (i64.sub (i64.const 64) (local.get $rep)))))
        (local.set $state (i64.sub (local.get $res)
          (i64.shl
            (i64.shr_u
              (i64.and (i64.or (i64.sub (local.get $res) (i64.const 1)) (i64.shl (local.get $rb) (i64.sub (local.get $rep) (i64.const 1))))
                       (local.get $res))
              (i64.sub (local.get $rep) (i64.const 1)))
            (local.get $rep))))
`;

/** Pops the next balanced digit of $state into $d (i64, |d| ≤ 2^(β−1)). */
const KS_NEXT_DIGIT = `
          (local.set $r (i64.and (local.get $state) (local.get $mask)))
          (local.set $state (i64.shr_s (local.get $state) (local.get $beta)))
          (local.set $carry (i64.shr_u (i64.and (i64.or (i64.sub (local.get $r) (i64.const 1)) (local.get $state)) (local.get $r))
            (i64.sub (local.get $beta) (i64.const 1))))
          (local.set $state (i64.add (local.get $state) (local.get $carry)))
          (local.set $d (i64.sub (local.get $r) (i64.shl (local.get $carry) (local.get $beta))))
`;

const KEYSWITCH = `
  ;; acc = (0, …, 0, b) − Σ_i Σ_j d_ij·KSK[i·L + j]; digits by tfhe-rs's balanced decomposer
  ;; (round to β·L bits, balance, per-level carry bit trick), all in wrapping i64. For \`count\`
  ;; ciphertexts at once (input c at in + c·inStride, output at acc + c·accStride): the L rows of
  ;; input word i are read from memory once and from cache for the other ciphertexts, so a batch
  ;; streams the keyswitch key once. Integer arithmetic: each output is the single one's bits.
  (func (export "keyswitch") (param $kskLo i32) (param $kskHi i32) (param $in i32) (param $acc i32) (param $inDim i32)
      (param $size i32) (param $baseLog i32) (param $level i32) (param $count i32) (param $inStride i32) (param $accStride i32)
    (local $i i32) (local $j i32) (local $w i32) (local $row i32) (local $pairs i32) (local $hiOff i32)
    (local $c i32) (local $inC i32) (local $accC i32) (local $rowI i32)
    (local $x i64) (local $rep i64) (local $res i64) (local $rb i64) (local $state i64)
    (local $r i64) (local $carry i64) (local $d i64) (local $beta i64) (local $mask i64) (local $dv v128)
    (local.set $c (i32.const 0))
    (block $cz (loop $czl
      (br_if $cz (i32.ge_u (local.get $c) (local.get $count)))
      (local.set $accC (i32.add (local.get $acc) (i32.mul (local.get $c) (local.get $accStride))))
      (local.set $w (i32.const 0))
      (block $z (loop $zl
        (br_if $z (i32.ge_u (local.get $w) (local.get $size)))
        (i64.store (i32.add (local.get $accC) (i32.shl (local.get $w) (i32.const 3))) (i64.const 0))
        (local.set $w (i32.add (local.get $w) (i32.const 1)))
        (br $zl)))
      (i64.store (i32.add (local.get $accC) (i32.shl (i32.sub (local.get $size) (i32.const 1)) (i32.const 3)))
        (i64.load (i32.add (i32.add (local.get $in) (i32.mul (local.get $c) (local.get $inStride))) (i32.shl (local.get $inDim) (i32.const 3)))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $czl)))
    (local.set $beta (i64.extend_i32_u (local.get $baseLog)))
    (local.set $rep (i64.mul (local.get $beta) (i64.extend_i32_u (local.get $level))))
    (local.set $mask (i64.sub (i64.shl (i64.const 1) (local.get $beta)) (i64.const 1)))
    (local.set $pairs (i32.and (local.get $size) (i32.const -2)))
    ;; row walks the low halves; the high halves sit at the same index hiOff bytes further.
    (local.set $rowI (local.get $kskLo))
    (local.set $hiOff (i32.sub (local.get $kskHi) (local.get $kskLo)))
    (local.set $i (i32.const 0))
    (block $idone (loop $il
      (br_if $idone (i32.ge_u (local.get $i) (local.get $inDim)))
      (local.set $c (i32.const 0))
      (local.set $inC (local.get $in))
      (local.set $accC (local.get $acc))
      (block $cdone (loop $cl
        (br_if $cdone (i32.ge_u (local.get $c) (local.get $count)))
        (local.set $row (local.get $rowI))
        ${KS_DECOMPOSE}
        (local.set $j (i32.const 0))
        (block $jdone (loop $jl
          (br_if $jdone (i32.ge_u (local.get $j) (local.get $level)))
          ${KS_NEXT_DIGIT}
          (if (i64.ne (local.get $d) (i64.const 0)) (then
            (local.set $dv (i64x2.splat (local.get $d)))
            (local.set $w (i32.const 0))
            (block $wdone (loop $wl
              (br_if $wdone (i32.ge_u (local.get $w) (local.get $pairs)))
              (v128.store (i32.add (local.get $accC) (i32.shl (local.get $w) (i32.const 3)))
                (i64x2.sub (v128.load (i32.add (local.get $accC) (i32.shl (local.get $w) (i32.const 3))))
                  (i64x2.mul (local.get $dv)
                    (v128.or (v128.load32x2_u (i32.add (local.get $row) (i32.shl (local.get $w) (i32.const 2))))
                      (i64x2.shl (v128.load32x2_u (i32.add (i32.add (local.get $row) (local.get $hiOff)) (i32.shl (local.get $w) (i32.const 2)))) (i32.const 32))))))
              (local.set $w (i32.add (local.get $w) (i32.const 2)))
              (br $wl)))
            (if (i32.lt_u (local.get $pairs) (local.get $size)) (then
              (i64.store (i32.add (local.get $accC) (i32.shl (local.get $pairs) (i32.const 3)))
                (i64.sub (i64.load (i32.add (local.get $accC) (i32.shl (local.get $pairs) (i32.const 3))))
                  (i64.mul (local.get $d)
                    (i64.or (i64.load32_u (i32.add (local.get $row) (i32.shl (local.get $pairs) (i32.const 2))))
                      (i64.shl (i64.load32_u (i32.add (i32.add (local.get $row) (local.get $hiOff)) (i32.shl (local.get $pairs) (i32.const 2)))) (i64.const 32))))))))))
          (local.set $row (i32.add (local.get $row) (i32.shl (local.get $size) (i32.const 2))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $jl)))
        (local.set $inC (i32.add (local.get $inC) (local.get $inStride)))
        (local.set $accC (i32.add (local.get $accC) (local.get $accStride)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $cl)))
      (local.set $rowI (local.get $row))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $il))))`;

/**
 * The keyswitch on the KSK's high halves only (the fast path's keyswitch): the same digits as
 * KEYSWITCH, but each KSK word K is replaced by its top 32 bits, K_hi·2^32, so the products and
 * sums are i32x4 lanes (4 words per operation, native multiply, half the key read). Only the
 * product's value mod 2^32 matters once shifted up by 32 bits, so wrapping i32 lanes (and the
 * digit wrapped to i32) give Σ d·K_hi·2^32 exactly mod 2^64. The output word is
 * exact + Σ d·(K mod 2^32 − 2^31): the low halves of a fresh key are uniform on [0, 2^32) (the
 * masks come from the CSPRNG, and each body is masked by ⟨a, s⟩), so subtracting 2^31 per unit of
 * digit sum (a public quantity) removes their mean up to −Σd/2, and the balanced digits of a
 * uniform word have mean 0, so the error is zero-mean, of standard deviation
 * ≈ 2^32·√(Σ d²/12) ≈ 2^39 per word for the 2_2 sets. That is a statistical size, not a bound:
 * the worst case is Σ|d|·2^31 ≤ k·N·L·2^(β−1)·2^31 (2^47 for 4×4). Against the 2^64/2N step the
 * modulus switch rounds to next, the added variance is 2^−22.6 (4×4) / 2^−24.2 (3×5); pbs-wasm.ts
 * calls this kernel only when that ratio is small (`keyswitchHi32Supported`), and the engine's
 * noise audit measures both keyswitches on the same ciphertexts.
 * For `count` ciphertexts at once like KEYSWITCH; acc32 (+ c·acc32Stride) holds ciphertext c's
 * i32 sums (size words, 16-byte padded) and then its digit sum Σ d as an i64.
 */
const KEYSWITCH_HI32 = `
  (func (export "keyswitch_hi32") (param $kskHi i32) (param $in i32) (param $acc i32) (param $inDim i32)
      (param $size i32) (param $baseLog i32) (param $level i32) (param $count i32) (param $inStride i32) (param $accStride i32)
      (param $acc32 i32) (param $acc32Stride i32)
    (local $i i32) (local $j i32) (local $w i32) (local $row i32) (local $quads i32) (local $sumAt i32)
    (local $c i32) (local $inC i32) (local $accC i32) (local $rowI i32) (local $d32 i32)
    (local $x i64) (local $rep i64) (local $res i64) (local $rb i64) (local $state i64) (local $sum i64)
    (local $r i64) (local $carry i64) (local $d i64) (local $beta i64) (local $mask i64) (local $dv v128) (local $bias i64)
    (local.set $quads (i32.and (local.get $size) (i32.const -4)))
    ;; the digit sum sits after the sums, 16-byte aligned
    (local.set $sumAt (i32.shl (i32.and (i32.add (local.get $size) (i32.const 3)) (i32.const -4)) (i32.const 2)))
    (local.set $c (i32.const 0))
    (block $cz (loop $czl
      (br_if $cz (i32.ge_u (local.get $c) (local.get $count)))
      (local.set $accC (i32.add (local.get $acc32) (i32.mul (local.get $c) (local.get $acc32Stride))))
      (local.set $w (i32.const 0))
      (block $z (loop $zl
        (br_if $z (i32.ge_u (local.get $w) (local.get $size)))
        (i32.store (i32.add (local.get $accC) (i32.shl (local.get $w) (i32.const 2))) (i32.const 0))
        (local.set $w (i32.add (local.get $w) (i32.const 1)))
        (br $zl)))
      (i64.store (i32.add (local.get $accC) (local.get $sumAt)) (i64.const 0))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $czl)))
    (local.set $beta (i64.extend_i32_u (local.get $baseLog)))
    (local.set $rep (i64.mul (local.get $beta) (i64.extend_i32_u (local.get $level))))
    (local.set $mask (i64.sub (i64.shl (i64.const 1) (local.get $beta)) (i64.const 1)))
    (local.set $rowI (local.get $kskHi))
    (local.set $i (i32.const 0))
    (block $idone (loop $il
      (br_if $idone (i32.ge_u (local.get $i) (local.get $inDim)))
      (local.set $c (i32.const 0))
      (local.set $inC (local.get $in))
      (local.set $accC (local.get $acc32))
      (block $cdone (loop $cl
        (br_if $cdone (i32.ge_u (local.get $c) (local.get $count)))
        (local.set $row (local.get $rowI))
        (local.set $sum (i64.load (i32.add (local.get $accC) (local.get $sumAt))))
        ${KS_DECOMPOSE}
        (local.set $j (i32.const 0))
        (block $jdone (loop $jl
          (br_if $jdone (i32.ge_u (local.get $j) (local.get $level)))
          ${KS_NEXT_DIGIT}
          (local.set $sum (i64.add (local.get $sum) (local.get $d)))
          (local.set $d32 (i32.wrap_i64 (local.get $d)))
          (if (i32.ne (local.get $d32) (i32.const 0)) (then
            (local.set $dv (i32x4.splat (local.get $d32)))
            (local.set $w (i32.const 0))
            (block $wdone (loop $wl
              (br_if $wdone (i32.ge_u (local.get $w) (local.get $quads)))
              (v128.store (i32.add (local.get $accC) (i32.shl (local.get $w) (i32.const 2)))
                (i32x4.sub (v128.load (i32.add (local.get $accC) (i32.shl (local.get $w) (i32.const 2))))
                  (i32x4.mul (local.get $dv) (v128.load (i32.add (local.get $row) (i32.shl (local.get $w) (i32.const 2)))))))
              (local.set $w (i32.add (local.get $w) (i32.const 4)))
              (br $wl)))
            (block $tdone (loop $tl
              (br_if $tdone (i32.ge_u (local.get $w) (local.get $size)))
              (i32.store (i32.add (local.get $accC) (i32.shl (local.get $w) (i32.const 2)))
                (i32.sub (i32.load (i32.add (local.get $accC) (i32.shl (local.get $w) (i32.const 2))))
                  (i32.mul (local.get $d32) (i32.load (i32.add (local.get $row) (i32.shl (local.get $w) (i32.const 2)))))))
              (local.set $w (i32.add (local.get $w) (i32.const 1)))
              (br $tl)))))
          (local.set $row (i32.add (local.get $row) (i32.shl (local.get $size) (i32.const 2))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $jl)))
        (i64.store (i32.add (local.get $accC) (local.get $sumAt)) (local.get $sum))
        (local.set $inC (i32.add (local.get $inC) (local.get $inStride)))
        (local.set $accC (i32.add (local.get $accC) (local.get $acc32Stride)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $cl)))
      (local.set $rowI (local.get $row))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $il)))
    ;; out_w = sum_w·2^32 − 2^31·Σd (+ the input body for the body word), as u64 words
    (local.set $c (i32.const 0))
    (block $cx (loop $cxl
      (br_if $cx (i32.ge_u (local.get $c) (local.get $count)))
      (local.set $accC (i32.add (local.get $acc32) (i32.mul (local.get $c) (local.get $acc32Stride))))
      (local.set $row (i32.add (local.get $acc) (i32.mul (local.get $c) (local.get $accStride))))
      (local.set $bias (i64.shl (i64.load (i32.add (local.get $accC) (local.get $sumAt))) (i64.const 31)))
      (local.set $w (i32.const 0))
      (block $xdone (loop $xl
        (br_if $xdone (i32.ge_u (local.get $w) (local.get $size)))
        (i64.store (i32.add (local.get $row) (i32.shl (local.get $w) (i32.const 3)))
          (i64.sub (i64.shl (i64.extend_i32_u (i32.load (i32.add (local.get $accC) (i32.shl (local.get $w) (i32.const 2))))) (i64.const 32))
            (local.get $bias)))
        (local.set $w (i32.add (local.get $w) (i32.const 1)))
        (br $xl)))
      ;; + the input body b (the loop above started the body word from 0)
      (local.set $w (i32.add (local.get $row) (i32.shl (i32.sub (local.get $size) (i32.const 1)) (i32.const 3))))
      (i64.store (local.get $w) (i64.add (i64.load (local.get $w))
        (i64.load (i32.add (i32.add (local.get $in) (i32.mul (local.get $c) (local.get $inStride))) (i32.shl (local.get $inDim) (i32.const 3))))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $cxl))))`;

/**
 * The module's text: `fused` uses relaxed-SIMD multiply-adds in the DFTs, the twist, the
 * multiply-accumulate and the untwist (needs the relaxed-simd feature), else plain SIMD.
 */
export function kernelsWat(fused: boolean): string {
  const f = fused ? FUSED : PLAIN;
  return `(module
  (import "env" "memory" (memory 1 65536 shared))
  ${radix4Stage(f, 'r4_fwd', true)}
  ${radix4Stage(f, 'r4_bwd', false)}
  ${FIXED_LENS.map((len) => radix4StageFixed(f, `r4_fwd_${len}`, true, len) + radix4StageFixed(f, `r4_bwd_${len}`, false, len)).join('')}
  ${radix2Stage(f, 'r2_fwd', true)}
  ${radix2Stage(f, 'r2_bwd', false)}
  ${lastStage('last_fwd', true)}
  ${lastStage('last_bwd', false)}
  ${FFT_DRIVERS}
  ${[null, ...ROTATE_FIXED_M].map((m) => rotateSubTwist(f, m)).join('')}
  ${macRows(f)}
  ${macK1(f)}
  ${BLIND_ROTATE}
  ${untwistAdd(f)}
  ${ROTATE_FIXED_M.map((m) => macK1Fixed(f, m) + (Math.log2(m) % 2 === 0 ? backwardUntwistFixed(f, m) : untwistAddFixed(f, m))).join('')}
  ${KEYSWITCH}
  ${KEYSWITCH_HI32}
)
`;
}
