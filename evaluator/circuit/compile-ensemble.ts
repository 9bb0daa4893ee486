/**
 * Compiles a tree ensemble (`ensemble.json`: integer leaves, decision `Σ leaves ≥ threshold`)
 * into a {@link CircuitPlan}. Same limits as one tree (2_2 shortint: values 0..15, noise ≤ 5).
 *
 * Per tree (after folding the explanation's inputs to constants and shifting its leaves so the
 * smallest is 0, the shift going to a public constant):
 * - **Blocks.** The tree is cut into blocks of up to 4 internal nodes (whole levels from a block
 *   root). A block's path bits are packed into one ciphertext `sel + Σ_j 2^j · bit_j`: bit j is a
 *   comparison bootstrap that outputs `2^j · [code ≤ t_j]` directly (shared by every block and
 *   tree testing that threshold at that scale; scale 2 is the scale-1 bit times 2, which keeps
 *   the noise level within 5; nodes take the bits whose scales reuse the most comparisons), and
 *   `sel` is 8 when the block is reached (a block below the root; then at most 3 nodes). A root
 *   block over a single feature reads the feature's code directly. Any function of the packed
 *   value is then one bootstrap.
 * - **Selectors.** Each exit of a block into a deeper block gets `8 · [this exit is taken]`: the
 *   deeper block's `sel`.
 * - **Values.** A tree of two block levels (every tree of depth ≤ 4) gets its leaf index `L`
 *   (0..15, over its distinct leaf values): the root block's bootstrap gives the offset of the
 *   exit taken, each block below the index of its leaf (0 when not reached), one bootstrap merges
 *   those exclusive indices when their degrees do not fit beside the offset, and each base-4
 *   digit of the tree's leaf range is one bootstrap of `L`. Deeper trees: each subtree of two
 *   block levels below a selector gets its own leaf index the same way (0 when not reached, which
 *   stands for value 0) and digits of it; blocks above those: per digit, one bootstrap per block
 *   outputting that digit of the leaf it exits to (0 when not reached or exiting elsewhere); a
 *   tree's terms of one digit are exclusive (Concrete ML's idea of evaluating a tree as a table
 *   lookup on packed comparison bits, fitted to 4-bit shortints). A leaf-indexed block's exits
 *   into a single test over two leaves take no selector: the index there is one bootstrap of
 *   `2 · code + bit`, the code of the exit being the offset when that fits (a {@link Layout}
 *   choice).
 *
 * Accumulation (radix, base 4, as tfhe-rs's integer addition of 2-bit blocks with carry
 * propagation): every digit term has noise level 1; up to 5 terms of one position whose degrees
 * sum to ≤ 15 are added and bootstrapped into `sum mod 4` (same position) and, when the sum can
 * reach 4, `⌊sum / 4⌋` (next position), until each position holds one digit. Terms of one tree
 * are mutually exclusive, so their sum needs no carry. The comparison with the public threshold
 * `Q − constants` then runs from the top digit down, one bootstrap per digit on
 * `4 · state + digit` (state: below / equal / above the threshold's digits).
 *
 * Explanation: trees that read neither the explanation input nor an assumed input are the same
 * for every output; their digits are accumulated once and shared. The others are folded per bin;
 * a tree's run of bins with one folded tree is accumulated once, in a segment tree over the bins
 * whose split points minimise the accumulation (dynamic programming over the runs), and each bin
 * adds up the digits on its path (a single-bin segment's terms unreduced) and compares; the top
 * comparison also takes
 * `4 · [own ≤ bin]`, so the bit is `approved(bin) ∧ own ≤ bin`.
 */
import type { EnsembleModel, EnsembleNode } from '../../model/private-model.ts';
import { quantizerLevels } from '../../model/quantize.ts';
import { Builder, countPbs, pbsDepth, prune } from './builder.ts';
import { CircuitError } from './errors.ts';
import { LIMITS_2_2, checkPlan, digitSanitizingTable, selfSanitizedDigits, type CircuitPlan, type ValueId } from './plan.ts';

/** Inputs folded to public codes. */
type Fold = ReadonlyMap<string, number>;

/** A tree after folding: splits on encrypted inputs only. */
type Tree = { type: 'leaf'; value: number } | { type: 'split'; input: string; threshold: number; left: Tree; right: Tree };
type Split = Tree & { type: 'split' };

/** A bootstrapped term of the sum (noise level 1): its position, largest value, and tree. */
interface Term {
  id: ValueId;
  position: number;
  max: number;
  /** Terms of one tree are exclusive (at most one non-zero per position); merged terms have none. */
  tree: number | null;
}

/**
 * Choices whose cost depends on how much the explanation's folded trees share with the decision,
 * so the compiler builds every combination and keeps the cheapest plan.
 */
interface Layout {
  /**
   * Root blocks with room take in next-level nodes over two leaves (each saves a selector and an
   * index); this also changes a folded tree's root block whenever folding leaves such a node.
   */
  leafPairsAtRoot: boolean;
  /**
   * A leaf-indexed block's exits into a single test over two leaves take a code of the exit
   * instead of a selector each ({@link EnsembleBuilder.indexed}); the code differs between
   * folded trees whose selectors would be the same ops.
   */
  codedLeafPairs: boolean;
  /**
   * With coded leaf pairs, a leaf index reserves index 0 (one of its 16 slots) so that every
   * offset is non-zero and serves as the code, saving the code bootstrap; a larger offset can
   * cost a merge instead.
   */
  reserveForCodes: boolean;
}

const SEL = 8;
const BASE = 4;

function foldTree(nodes: readonly EnsembleNode[], fold: Fold | undefined, i = 0): Tree {
  const n = nodes[i]!;
  if (n.type === 'leaf') return { type: 'leaf', value: n.value };
  const folded = fold?.get(n.input);
  if (folded !== undefined) return foldTree(nodes, fold, folded <= n.threshold ? n.left : n.right);
  const left = foldTree(nodes, fold, n.left);
  const right = foldTree(nodes, fold, n.right);
  if (left.type === 'leaf' && right.type === 'leaf' && left.value === right.value) return left;
  return { type: 'split', input: n.input, threshold: n.threshold, left, right };
}

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const p of permutations(rest)) yield [items[i]!, ...p];
  }
}

/** A single test over two leaves. */
const isLeafPair = (t: Tree) => t.type === 'split' && t.left.type === 'leaf' && t.right.type === 'leaf';
const leaves = (t: Tree): number[] => (t.type === 'leaf' ? [t.value] : [...leaves(t.left), ...leaves(t.right)]);
const digitsOf = (range: number) => {
  let d = 0;
  while (BASE ** d <= range) d++;
  return d;
};

class EnsembleBuilder {
  readonly b: Builder;
  private readonly levels: ReadonlyMap<string, number>;
  private readonly digitsIn: ReadonlyMap<string, number>;

  private readonly leafPairsAtRoot: boolean;
  private readonly codedLeafPairs: boolean;
  private readonly reserveForCodes: boolean;

  /** @param layout see {@link Layout}. */
  constructor(model: EnsembleModel, layout: Layout) {
    this.leafPairsAtRoot = layout.leafPairsAtRoot;
    this.codedLeafPairs = layout.codedLeafPairs;
    this.reserveForCodes = layout.reserveForCodes;
    const inputs = model.manifest.inputs;
    this.levels = new Map(inputs.map((i) => [i.name, quantizerLevels(i.quantizer)]));
    this.digitsIn = new Map(inputs.map((i) => [i.name, i.digits]));
    this.b = new Builder(LIMITS_2_2, this.digitsIn, this.levels);
  }

  /**
   * The code an input ciphertext value stands for: a 1-bit input's digit is clamped to 0..1
   * (an encrypted 2 or 3 decides as 1, as the single-tree compiler does), a code above the
   * largest answers as the largest.
   */
  private codeOf(input: string, v: number): number {
    const levels = this.levels.get(input)!;
    if (levels === 2 && this.digitsIn.get(input) === 1) return Math.min(v % BASE, 1);
    return Math.min(v, levels - 1);
  }

  /** One bootstrap of an input's code through `f(code)`. */
  private onInput(input: string, f: (code: number) => number): ValueId {
    const table = Array.from({ length: this.b.space }, (_, v) => f(this.codeOf(input, v)));
    return this.b.pbs(this.b.input(input), table);
  }

  /** Comparisons emitted so far, by input, threshold and scale. */
  private readonly compared = new Set<string>();
  /** The bit order chosen for each block, by its nodes' tests in level order. */
  private readonly orders = new Map<string, number[]>();

  /** `scale · [code(input) ≤ threshold]`, one bootstrap shared by every use. */
  private compare(input: string, threshold: number, scale: number): ValueId {
    this.compared.add(`${input} ${threshold} ${scale}`);
    return this.onInput(input, (code) => (code <= threshold ? scale : 0));
  }

  /**
   * Which node takes which bit of a block's packed value: any order decides the same exit, so
   * the order that reuses the most comparisons already bootstrapped at the scale of their bit
   * (bits 0 and 1 both read the scale-1 bootstrap), in level order on ties.
   */
  private bitOrder(nodes: readonly Split[]): Split[] {
    // A block met again (a folded tree's part equal to the decision's) keeps its first order, so
    // its packed value and bootstraps are the same ops.
    const key = nodes.map((n) => `${n.input} ${n.threshold}`).join(',');
    const seen = this.orders.get(key);
    if (seen !== undefined) return seen.map((j) => nodes[j]!);
    const scaleAt = (j: number) => (j === 1 ? 1 : 2 ** j);
    const fresh = (order: readonly Split[]) => {
      const keys = new Set(order.map((n, j) => `${n.input} ${n.threshold} ${scaleAt(j)}`));
      return [...keys].filter((k) => !this.compared.has(k)).length;
    };
    let best = [...nodes];
    let bestFresh = fresh(best);
    for (const order of permutations(nodes)) {
      const f = fresh(order);
      if (f < bestFresh) [best, bestFresh] = [order, f];
    }
    this.orders.set(
      key,
      best.map((n) => nodes.indexOf(n)),
    );
    return best;
  }

  /**
   * Terms of one tree: its digit outputs (positions 0..digits−1), the tree's leaves shifted by
   * their minimum (returned as the tree's constant). Through the tree's leaf index when that
   * takes fewer bootstraps ({@link indexed}), else per block.
   */
  treeTerms(tree: Tree, treeIndex: number): { terms: Term[]; constant: number } {
    const values = leaves(tree);
    const min = Math.min(...values);
    if (tree.type === 'leaf') return { terms: [], constant: min };
    const digits = digitsOf(Math.max(...values) - min);
    const terms = this.indexed(tree, null, min, digits, treeIndex);
    if (terms !== null) return { terms, constant: min };
    const out: Term[] = [];
    this.block(tree, null, min, digits, treeIndex, out);
    return { terms: out, constant: min };
  }

  /**
   * The block rooted at `root`: whole levels while they fit (4 internal nodes at the root, 3
   * below, where `sel` takes the fourth bit), then, while room is left, the next level's nodes
   * whose children are both leaves (at the root only with `leafPairsAtRoot`); and its exits,
   * left to right.
   */
  private shape(root: Split, below: boolean): { nodes: Split[]; exits: Tree[]; exitOf: (left: (n: Split) => boolean) => Tree } {
    const cap = below ? 3 : 4;
    const nodes: Split[] = [root];
    let level: Split[] = [root];
    for (;;) {
      const next = level.flatMap((n) => [n.left, n.right]).filter((c): c is Split => c.type === 'split');
      if (next.length === 0 || nodes.length + next.length > cap) {
        // Room left: take in the next level's nodes over two leaves, each one block fewer below.
        for (const n of next)
          if ((below || this.leafPairsAtRoot) && nodes.length < cap && n.left.type === 'leaf' && n.right.type === 'leaf') nodes.push(n);
        break;
      }
      nodes.push(...next);
      level = next;
    }
    const inBlock = new Set<Tree>(nodes);
    const exits: Tree[] = [];
    const collect = (n: Tree): void => {
      if (inBlock.has(n) && n.type === 'split') {
        collect(n.left);
        collect(n.right);
      } else exits.push(n);
    };
    collect(root);
    const exitOf = (left: (n: Split) => boolean): Tree => {
      let n: Tree = root;
      while (inBlock.has(n) && n.type === 'split') n = left(n) ? n.left : n.right;
      return n;
    };
    return { nodes, exits, exitOf };
  }

  /**
   * A block's packed input (the scaled comparison bits and `sel`, or a single feature's code
   * itself) and `table(f)`: the lookup table giving f(exit taken), 0 when the block is not
   * reached.
   */
  private pack(root: Split, sel: ValueId | null) {
    const { nodes, exits, exitOf } = this.shape(root, sel !== null);
    const features = [...new Set(nodes.map((n) => n.input))];
    let packed: ValueId;
    let exitAt: (v: number) => Tree | null;
    if (sel === null && features.length === 1) {
      const input = features[0]!;
      packed = this.b.input(input);
      exitAt = (v) => {
        const code = this.codeOf(input, v);
        return exitOf((n) => code <= n.threshold);
      };
    } else {
      // Bit j at scale 2^j: a comparison bootstrap outputs its bit already scaled (shared by every
      // block that tests the same threshold at the same scale), except scale 2, a scalar
      // multiple of the scale-1 bit (noise 2), which keeps the packed noise within 5.
      const order = this.bitOrder(nodes);
      const parts = order.map((n, j) =>
        j === 1 ? this.b.scalarMul(this.compare(n.input, n.threshold, 1), 2) : this.compare(n.input, n.threshold, 2 ** j),
      );
      if (sel !== null) parts.push(sel);
      packed = this.b.sum(parts);
      const width = 2 ** nodes.length;
      exitAt = (v) => {
        if (sel !== null && v < SEL) return null; // the block is not reached
        const bits = sel !== null ? v - SEL : v;
        if (bits >= width) return null; // no such value
        return exitOf((n) => Math.floor(bits / 2 ** order.indexOf(n)) % 2 === 1);
      };
    }
    const table = (f: (exit: Tree) => number) =>
      Array.from({ length: this.b.space }, (_, v) => {
        const e = exitAt(v);
        return e === null ? 0 : f(e);
      });
    return { packed, exits, table };
  }

  /** `8 · [the block exits to e]`: the `sel` of the block rooted at e. */
  private selector(block: { packed: ValueId; table: (f: (exit: Tree) => number) => number[] }, e: Tree): ValueId {
    return this.b.pbs(
      block.packed,
      block.table((x) => (x === e ? SEL : 0)),
    );
  }

  private block(root: Split, sel: ValueId | null, shift: number, digits: number, treeIndex: number, out: Term[]): void {
    // A subtree of two block levels below a reached-selector: its own leaf index.
    const sub = sel === null ? null : this.indexed(root, sel, shift, digits, treeIndex);
    if (sub !== null) {
      out.push(...sub);
      return;
    }
    const block = this.pack(root, sel);
    for (let d = 0; d < digits; d++) {
      const digit = (e: Tree) => (e.type === 'leaf' ? Math.floor((e.value - shift) / BASE ** d) % BASE : 0);
      const t = block.table(digit);
      const max = Math.max(...t);
      if (max > 0) out.push({ id: this.b.pbs(block.packed, t), position: d, max, tree: treeIndex });
    }
    for (const e of block.exits) if (e.type === 'split') this.block(e, this.selector(block, e), shift, digits, treeIndex, out);
  }

  /**
   * The tree's digits through its leaf index, for a tree of two block levels (the root block;
   * below it only blocks whose exits are all leaves) whose exits hold at most 16 distinct leaf
   * values between them (a value under two exits counts twice). The root block gives the offset of the exit taken (`off`), each block below the index
   * of its leaf among its distinct values (0 when not reached); their sum, merged by one
   * bootstrap when the degree or noise budget needs it, is the leaf index `L` (0..15), and each
   * value digit is one bootstrap of `L`. Per tree: 1 + blocks below + (1) + digits bootstraps
   * besides the selectors, instead of a digit per block and a merge per digit.
   * With `sel` (the subtree below a selector, possibly not reached) the root block is packed with
   * it, every addend is 0 when it is not reached, and index 0 stands for value 0 (see `reserve`):
   * deeper trees thus get a leaf index per subtree of two block levels, whose digit terms are
   * exclusive like a block's.
   * Returns null when the tree has another shape or the per-block scheme is not dearer.
   */
  private indexed(tree: Split, sel: ValueId | null, shift: number, digits: number, treeIndex: number): Term[] | null {
    const top = this.shape(tree, sel !== null);
    const distinct = (ls: readonly Tree[]) =>
      [...new Set(ls.map((l) => (l as Tree & { type: 'leaf' }).value - shift))].sort((x, y) => x - y);
    const parts: { exit: Tree; values: number[] }[] = [];
    for (const e of top.exits) {
      if (e.type === 'leaf') {
        parts.push({ exit: e, values: [e.value - shift] });
        continue;
      }
      const below = this.shape(e, true);
      if (below.exits.some((x) => x.type !== 'leaf')) return null;
      parts.push({ exit: e, values: distinct(below.exits) });
    }
    const blocksBelow = parts.filter((p) => p.exit.type === 'split');
    // A subtree that may not be reached: index 0 (every addend 0) must stand for value 0, so a
    // part whose smallest value is 0 goes first, else index 0 is reserved.
    // With `reserveForCodes`, also so that every offset is non-zero and can serve as the code
    // of coded leaf pairs.
    const hasLeafPair = blocksBelow.some((p) => isLeafPair(p.exit));
    const reserve = (sel !== null && !parts.some((p) => p.values[0] === 0)) || (this.reserveForCodes && this.codedLeafPairs && hasLeafPair);
    const size = parts.reduce((s, p) => s + p.values.length, 0) + (reserve ? 1 : 0);
    const belowMax = blocksBelow.reduce((s, p) => s + p.values.length - 1, 0);
    if (
      blocksBelow.length === 0 ||
      size > this.b.space ||
      blocksBelow.length > LIMITS_2_2.maxNoiseLevel ||
      belowMax > LIMITS_2_2.maxDegree
    ) {
      return null;
    }
    // Offsets: the block below with the most values last, so off + index stays within size − 1.
    const order = [...parts].sort((x, y) => x.values.length - y.values.length);
    const valueAt: number[] = [];
    if (reserve) valueAt.push(0);
    else if (sel !== null) {
      const zero = order.findIndex((p) => p.values[0] === 0);
      order.unshift(...order.splice(zero, 1));
    }
    const offset = new Map<Tree, number>();
    for (const p of order) {
      offset.set(p.exit, valueAt.length);
      valueAt.push(...p.values);
    }
    const maxOffset = Math.max(...offset.values());
    const maxLocal = Math.max(...blocksBelow.map((p) => p.values.length - 1));
    // The blocks below are exclusive: their indices add up to the reached one's, but tfhe-rs's
    // degree of the sum is the sum of their degrees. They are merged by one bootstrap (degree
    // maxLocal) unless off + Σ fits as it is.
    const addendCount = (maxOffset > 0 ? 1 : 0) + blocksBelow.length;
    const merge = addendCount <= LIMITS_2_2.maxNoiseLevel && maxOffset + belowMax <= LIMITS_2_2.maxDegree ? 0 : 1;
    // Without the index: per digit, a bootstrap per block with a value there, and the merges.
    const valueBlocks = (parts.length > blocksBelow.length ? 1 : 0) + blocksBelow.length;
    const perBlock = digits * (valueBlocks + Math.ceil((valueBlocks - 1) / (LIMITS_2_2.maxNoiseLevel - 1)));
    if ((maxOffset > 0 ? 1 : 0) + blocksBelow.length + merge + digits >= perBlock) return null;

    const root = this.pack(tree, sel);
    const addends: ValueId[] = [];
    const offsetId =
      maxOffset > 0
        ? this.b.pbs(
            root.packed,
            root.table((e) => offset.get(e)!),
          )
        : null;
    if (offsetId !== null) addends.push(offsetId);
    // A block below of one test over two leaves needs no selector: its index is one bootstrap of
    // `2·K + bit`, K a code of the root block's exit that is non-zero only at this block's exit
    // (noise 2 + 1, degree 2·K + 1 ≤ 15). K is the offset when that is non-zero at every such
    // exit and ≤ 7; else, for two or more such blocks, one bootstrap gives them codes 1..n.
    const isSingle = (p: (typeof parts)[number]) => isLeafPair(p.exit);
    const singles = blocksBelow.filter(isSingle);
    const maxCode = (LIMITS_2_2.maxDegree - 1) / 2;
    let code: { id: ValueId; of: (exit: Tree) => number } | null = null;
    if (!this.codedLeafPairs) {
      // Selectors, as every other block below.
    } else if (offsetId !== null && singles.length > 0 && maxOffset <= maxCode && singles.every((p) => offset.get(p.exit)! > 0)) {
      code = { id: offsetId, of: (e) => offset.get(e)! };
    } else if (singles.length >= 2 && singles.length <= maxCode) {
      const codes = new Map(singles.map((p, k) => [p.exit, k + 1] as const));
      code = {
        id: this.b.pbs(
          root.packed,
          root.table((e) => codes.get(e) ?? 0),
        ),
        of: (e) => codes.get(e)!,
      };
    }
    const leafValue = (t: Tree) => (t as Tree & { type: 'leaf' }).value - shift;
    const indices = blocksBelow.map((p) => {
      if (code !== null && isSingle(p)) {
        const n = p.exit as Split;
        const k = code.of(n);
        const input = this.b.add(this.b.scalarMul(code.id, 2), this.compare(n.input, n.threshold, 1));
        return this.b.pbs(
          input,
          Array.from({ length: this.b.space }, (_, v) =>
            Math.floor(v / 2) === k ? p.values.indexOf(leafValue(v % 2 === 1 ? n.left : n.right)) : 0,
          ),
        );
      }
      const block = this.pack(p.exit as Split, this.selector(root, p.exit));
      return this.b.pbs(
        block.packed,
        block.table((leaf) => p.values.indexOf(leafValue(leaf))),
      );
    });
    if (merge === 0 || indices.length === 1) addends.push(...indices);
    else
      addends.push(
        this.b.pbs(
          this.b.sum(indices),
          Array.from({ length: this.b.space }, (_, v) => (v <= maxLocal ? v : 0)),
        ),
      );
    const index = this.b.sum(addends);
    const terms: Term[] = [];
    for (let d = 0; d < digits; d++) {
      const t = Array.from({ length: this.b.space }, (_, v) => (v < valueAt.length ? Math.floor(valueAt[v]! / BASE ** d) % BASE : 0));
      const max = Math.max(...t);
      if (max > 0) terms.push({ id: this.b.pbs(index, t), position: d, max, tree: treeIndex });
    }
    return terms;
  }

  /**
   * Adds terms by position with carries until every position holds at most one digit term
   * (value ≤ 3). Returns the digit per position (undefined: 0).
   */
  reduce(input: readonly Term[]): (Term | undefined)[] {
    const byPos: Term[][] = [];
    for (const t of input) (byPos[t.position] ??= []).push(t);
    for (let p = 0; p < byPos.length; p++) {
      let terms = [...(byPos[p] ?? [])];
      while (terms.length > 1) {
        // First the terms of one tree (exclusive: their sum needs no carry), most of them first;
        // then low degree first, which packs the most terms into one bootstrap; ids break ties.
        const count = new Map<number, number>();
        for (const t of terms) if (t.tree !== null) count.set(t.tree, (count.get(t.tree) ?? 0) + 1);
        const mergeTree = [...count].filter(([, n]) => n > 1).sort((x, y) => y[1] - x[1] || x[0] - y[0])[0]?.[0];
        const pool = mergeTree === undefined ? terms : terms.filter((t) => t.tree === mergeTree);
        pool.sort((x, y) => this.b.meta(x.id).degree - this.b.meta(y.id).degree || x.id - y.id);
        const group: Term[] = [];
        let degree = 0;
        for (const t of pool) {
          const d = this.b.meta(t.id).degree;
          if (group.length < LIMITS_2_2.maxNoiseLevel && degree + d <= LIMITS_2_2.maxDegree) {
            group.push(t);
            degree += d;
          }
        }
        if (group.length < 2) throw new CircuitError('uncompilable', 'internal: cannot add two digit terms');
        // Exclusive terms (one tree) add up to their largest, not their sum.
        const byTree = new Map<string, number>();
        group.forEach((t, k) => {
          const key = t.tree === null ? `merged ${k}` : `tree ${t.tree}`;
          byTree.set(key, Math.max(byTree.get(key) ?? 0, t.max));
        });
        const max = Math.min(
          degree,
          [...byTree.values()].reduce((s, m) => s + m, 0),
        );
        const sum = this.b.sum(group.map((t) => t.id));
        const rest = terms.filter((t) => !group.includes(t));
        const low = this.b.pbs(
          sum,
          Array.from({ length: this.b.space }, (_, v) => (v <= max ? v % BASE : 0)),
        );
        rest.push({ id: low, position: p, max: Math.min(max, BASE - 1), tree: null });
        if (max >= BASE) {
          const carry = this.b.pbs(
            sum,
            Array.from({ length: this.b.space }, (_, v) => (v <= max ? Math.floor(v / BASE) : 0)),
          );
          (byPos[p + 1] ??= []).push({ id: carry, position: p + 1, max: Math.floor(max / BASE), tree: null });
        }
        terms = rest;
      }
      byPos[p] = terms;
    }
    return byPos.map((ts) => ts?.[0]);
  }

  /**
   * `Σ_p 4^p · digit_p ≥ q` as a bit, ANDed with `mask` (a value 0 or 4, or null). Digits are
   * compared from the top: state 0 below, 1 equal so far, 2 above, carried as `4 · state`.
   */
  atLeast(digits: readonly (Term | undefined)[], q: number, mask: ValueId | null, maskBit: () => ValueId): ValueId {
    const maxTotal = digits.reduce((s, t, p) => s + (t?.max ?? 0) * BASE ** p, 0);
    if (q <= 0) return mask === null ? this.b.trivial(1) : maskBit();
    if (q > maxTotal) return this.b.trivial(0);
    const qDigit = (p: number) => Math.floor(q / BASE ** p) % BASE;
    let qDigits = 0;
    while (BASE ** qDigits <= q) qDigits++;
    const top = Math.max(digits.length, qDigits) - 1;
    const cmp = (v: number, qd: number) => (v < qd ? 0 : v === qd ? 1 : 2);
    // Digits above the highest term compare 0 with q's digits: below if q has any there.
    let state: { known: 0 | 1 | 2 } | { id: ValueId; masked: boolean } = { known: 1 };
    for (let p = top; p >= 0; p--) {
      const term = digits[p];
      const qd = qDigit(p);
      if ('known' in state) {
        if (state.known !== 1) break;
        if (term === undefined) {
          state = { known: cmp(0, qd) };
          continue;
        }
        if (p === 0 && mask === null) {
          return this.b.pbs(
            term.id,
            Array.from({ length: this.b.space }, (_, v) => (v >= qd ? 1 : 0)),
          );
        }
        const input = mask === null ? term.id : this.b.sum([term.id, mask]);
        const masked = mask !== null;
        const final = p === 0;
        state = {
          id: this.b.pbs(
            input,
            Array.from({ length: this.b.space }, (_, v) => {
              const on = !masked || v >= BASE;
              const s = on ? cmp(v % BASE, qd) : 0;
              return final ? (s >= 1 ? 1 : 0) : BASE * s;
            }),
          ),
          masked,
        };
        if (final) return state.id;
        continue;
      }
      const final = p === 0;
      const prev = state.id;
      const input = term === undefined ? prev : this.b.sum([prev, term.id]);
      const id = this.b.pbs(
        input,
        Array.from({ length: this.b.space }, (_, v) => {
          const s = Math.floor(v / BASE);
          const d = term === undefined ? 0 : v % BASE;
          const next = s === 1 ? cmp(d, qd) : s;
          return final ? (next >= 1 ? 1 : 0) : BASE * next;
        }),
      );
      if (final) return id;
      state = { id, masked: false };
    }
    // The top digits already decided (known below or above).
    if ('known' in state) {
      if (state.known === 0) return this.b.trivial(0);
      return mask === null ? this.b.trivial(1) : maskBit();
    }
    return state.id;
  }
}

/**
 * Compiles a loaded ensemble into a checked plan.
 * @throws CircuitError `uncompilable`.
 */
export function compileEnsembleCircuit(model: EnsembleModel, options: { explain?: boolean } = {}): CircuitPlan {
  const explain = options.explain ?? true;
  // Every layout: the plan with fewer bootstraps (the first on ties).
  const layouts: Layout[] = [false, true].flatMap((leafPairsAtRoot) => [
    { leafPairsAtRoot, codedLeafPairs: true, reserveForCodes: false },
    { leafPairsAtRoot, codedLeafPairs: true, reserveForCodes: true },
    { leafPairsAtRoot, codedLeafPairs: false, reserveForCodes: false },
  ]);
  const [built, layout] = layouts
    .map((l) => [assembleEnsemble(model, explain, l), l] as const)
    .reduce((x, y) => (countPbs(y[0].ops) < countPbs(x[0].ops) ? y : x));
  const pbs = countPbs(built.ops);
  const pbsDecision = explain ? countPbs(assembleEnsemble(model, false, layout).ops) : pbs;
  const ex = model.manifest.explanation;
  const levels = new Map(model.manifest.inputs.map((i) => [i.name, quantizerLevels(i.quantizer)]));
  const plan: CircuitPlan = {
    formatVersion: 1,
    modelVersion: model.manifest.modelVersion,
    limits: LIMITS_2_2,
    inputs: model.manifest.inputs.map((i) => ({ name: i.name, party: i.party, digits: i.digits, levels: quantizerLevels(i.quantizer) })),
    luts: built.luts,
    ops: built.ops,
    metadata: built.metadata,
    outputs: built.outputs,
    explanationBins: explain ? ex.bins.map((bin) => ({ code: bin.code, label: bin.label })) : [],
    stats: {
      pbs,
      pbsDecision,
      pbsExplanation: pbs - pbsDecision,
      pbsSanitize: selfSanitizedDigits(built, (input, digit) => digitSanitizingTable(levels.get(input)!, digit, LIMITS_2_2)).size,
      pbsDepth: pbsDepth(built.ops),
      linear: built.ops.filter((o) => o.op !== 'pbs' && o.op !== 'digit').length,
      leafClass: 'approve',
    },
  };
  checkPlan(plan);
  return plan;
}

/**
 * The split point of each segment over bins `lo..hi` (left child `lo..mid`) that minimises an
 * estimate of the accumulation's bootstraps, by dynamic programming over the intervals and their
 * parents: a run of bins is added at the highest segments it covers, a segment's terms are
 * reduced to digits once (about 2 bootstraps per 3 terms, as {@link EnsembleBuilder.reduce}
 * goes), and every bin then adds up the digits on its path (a single-bin segment's terms as
 * they are). Minimising Σ terms added + Σ over wider segments of digits · (bins − 1) minimises
 * both.
 */
function bestSegmentSplits(bins: number, runs: readonly { lo: number; hi: number; terms: number; range: number }[]) {
  const memo = new Map<string, { cost: number; mid: number }>();
  const solve = (lo: number, hi: number, plo: number, phi: number): number => {
    const key = `${lo},${hi},${plo},${phi}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit.cost;
    const here = runs.filter((r) => r.lo <= lo && hi <= r.hi && !(r.lo <= plo && phi <= r.hi));
    const terms = here.reduce((s, r) => s + r.terms, 0);
    let cost = terms;
    let mid = lo;
    if (lo < hi) {
      const range = here.reduce((s, r) => s + r.range, 0);
      const digits = terms === 0 ? 0 : Math.min(terms, digitsOf(range));
      let best = Infinity;
      for (let m = lo; m < hi; m++) {
        const c = solve(lo, m, lo, hi) + solve(m + 1, hi, lo, hi);
        if (c < best) [best, mid] = [c, m];
      }
      cost += digits * (hi - lo) + best;
    }
    memo.set(key, { cost, mid });
    return cost;
  };
  solve(0, bins - 1, -1, -1);
  // The chosen split of each segment, given the parent it was reached from.
  const parents = new Map<string, string>();
  const walk = (lo: number, hi: number, plo: number, phi: number) => {
    parents.set(`${lo},${hi}`, `${plo},${phi}`);
    if (lo === hi) return;
    const mid = memo.get(`${lo},${hi},${plo},${phi}`)!.mid;
    walk(lo, mid, lo, hi);
    walk(mid + 1, hi, lo, hi);
  };
  walk(0, bins - 1, -1, -1);
  return (lo: number, hi: number) => memo.get(`${lo},${hi},${parents.get(`${lo},${hi}`)!}`)!.mid;
}

function assembleEnsemble(model: EnsembleModel, explain: boolean, layout: Layout) {
  const eb = new EnsembleBuilder(model, layout);
  const { b } = eb;
  const { trees, threshold } = model.ensemble;
  const ex = model.manifest.explanation;
  const assumed = new Map((ex.assume ?? []).map((a) => [a.input, a.code] as const));
  const foldedInputs = new Set([ex.input, ...assumed.keys()]);
  const reads = (nodes: readonly EnsembleNode[]) => nodes.some((n) => n.type === 'split' && foldedInputs.has(n.input));
  const shared = trees.map((t, i) => ({ t, i })).filter(({ t }) => !reads(t.nodes));
  const varying = trees.map((t, i) => ({ t, i })).filter(({ t }) => reads(t.nodes));

  // The trees every evaluation shares, accumulated once.
  let sharedConstant = 0;
  const sharedTerms: Term[] = [];
  for (const { t, i } of shared) {
    const { terms, constant } = eb.treeTerms(foldTree(t.nodes, undefined), i);
    sharedTerms.push(...terms);
    sharedConstant += constant;
  }
  const sharedDigits = explain && varying.length > 0 ? eb.reduce(sharedTerms).filter((d): d is Term => d !== undefined) : sharedTerms;

  let decisionConstant = sharedConstant;
  const decisionTerms: Term[] = [...sharedDigits];
  for (const { t, i } of varying) {
    const r = eb.treeTerms(foldTree(t.nodes, undefined), i);
    decisionTerms.push(...r.terms);
    decisionConstant += r.constant;
  }
  const never = () => {
    throw new CircuitError('uncompilable', 'internal: no mask');
  };
  const decision = eb.atLeast(eb.reduce(decisionTerms), threshold - decisionConstant, null, never);
  const explanation: ValueId[] = [];
  if (explain) {
    const exInput = model.manifest.inputs.find((i) => i.name === ex.input)!;
    const lastCode = quantizerLevels(exInput.quantizer) - 1;
    const levels = quantizerLevels(exInput.quantizer);
    const ownAtMost = (bin: number, scale: number) =>
      b.pbs(
        b.input(ex.input),
        Array.from({ length: b.space }, (_, v) => (Math.min(v, levels - 1) <= bin ? scale : 0)),
      );
    // A tree folded for bin b is often the same for neighbouring bins (it splits on years
    // employed at one or two thresholds). Its terms are accumulated once per run of equal bins,
    // in the nodes of a segment tree over the bins (each run in O(log bins) nodes), and each bin
    // adds up only the digits on its path: per bin a few digits to carry instead of every tree.
    const folds = ex.bins.map((bin) => new Map([...assumed, [ex.input, bin.code] as const]));
    interface Segment {
      lo: number;
      hi: number;
      children: number[];
      terms: Term[];
      constant: number;
      digits: Term[];
    }
    // Each tree's runs of bins with one folded tree.
    const runs: { lo: number; hi: number; tree: Tree; index: number }[] = [];
    for (const { t, i } of varying) {
      const folded = folds.map((fold) => foldTree(t.nodes, fold));
      const keys = folded.map((tree) => JSON.stringify(tree));
      for (let lo = 0; lo < folded.length; ) {
        let hi = lo;
        while (hi + 1 < folded.length && keys[hi + 1] === keys[lo]) hi++;
        runs.push({ lo, hi, tree: folded[lo]!, index: i });
        lo = hi + 1;
      }
    }
    const split = bestSegmentSplits(folds.length, [
      ...runs.map((r) => {
        const values = leaves(r.tree);
        const range = Math.max(...values) - Math.min(...values);
        return { lo: r.lo, hi: r.hi, terms: range === 0 ? 0 : digitsOf(range), range };
      }),
      { lo: 0, hi: folds.length - 1, terms: sharedDigits.length, range: sharedDigits.reduce((s, d) => s + d.max * BASE ** d.position, 0) },
    ]);
    const segments: Segment[] = [];
    const grow = (lo: number, hi: number): number => {
      const k = segments.length;
      segments.push({ lo, hi, children: [], terms: [], constant: 0, digits: [] });
      if (lo < hi) {
        const mid = split(lo, hi);
        segments[k]!.children = [grow(lo, mid), grow(mid + 1, hi)];
      }
      return k;
    };
    grow(0, folds.length - 1);
    const add = (k: number, lo: number, hi: number, tree: Tree, index: number): void => {
      const seg = segments[k]!;
      if (hi < seg.lo || seg.hi < lo) return;
      if (lo <= seg.lo && seg.hi <= hi) {
        const r = eb.treeTerms(tree, index);
        seg.terms.push(...r.terms);
        seg.constant += r.constant;
        return;
      }
      for (const c of seg.children) add(c, lo, hi, tree, index);
    };
    segments[0]!.terms.push(...sharedDigits);
    segments[0]!.constant = sharedConstant;
    for (const r of runs) add(0, r.lo, r.hi, r.tree, r.index);
    for (const seg of segments) seg.digits = seg.lo === seg.hi ? seg.terms : eb.reduce(seg.terms).filter((d): d is Term => d !== undefined);
    ex.bins.forEach((bin, j) => {
      const terms: Term[] = [];
      let constant = 0;
      for (let k = 0; ; ) {
        const seg = segments[k]!;
        terms.push(...seg.digits);
        constant += seg.constant;
        const next = seg.children.find((c) => segments[c]!.lo <= j && j <= segments[c]!.hi);
        if (next === undefined) break;
        k = next;
      }
      // The last bin is ≥ every valid own bin: no mask.
      const masked = bin.code < lastCode;
      const mask = masked ? ownAtMost(bin.code, BASE) : null;
      explanation.push(eb.atLeast(eb.reduce(terms), threshold - constant, mask, () => ownAtMost(bin.code, 1)));
    });
  }
  return prune(b, { decision, explanation });
}
