/**
 * WCAG 2.2 contrast of rendered text, as Chromium paints it: each text node's colour over the
 * backgrounds of every box behind it (through the shadow root to the page), composited in sRGB.
 * Colours are read back from a canvas, so any CSS colour syntax (`color-mix`, relative colours,
 * `lch`) counts as painted. Text ≥ 24px, or ≥ 18.66px and bold, is large: 3:1 instead of 4.5:1.
 */
type Rgba = [number, number, number, number];

const canvas = new OffscreenCanvas(1, 1);
const ctx = canvas.getContext('2d', { willReadFrequently: true })!;

/** A CSS colour as painted: sRGB 0–255 and alpha 0–1. */
export function paint(color: string): Rgba {
  ctx.clearRect(0, 0, 1, 1);
  ctx.fillStyle = '#000';
  ctx.fillStyle = color;
  ctx.fillRect(0, 0, 1, 1);
  const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
  return [r!, g!, b!, a! / 255];
}

/** `top` over an opaque `bottom`. */
const over = (top: Rgba, bottom: Rgba): Rgba => [
  top[0] * top[3] + bottom[0] * (1 - top[3]),
  top[1] * top[3] + bottom[1] * (1 - top[3]),
  top[2] * top[3] + bottom[2] * (1 - top[3]),
  1,
];

/** WCAG relative luminance of an opaque sRGB colour. */
function luminance([r, g, b]: Rgba): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

export function contrastRatio(a: Rgba, b: Rgba): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** The element's parent in the composed tree (a shadow root's host after its top elements). */
function composedParent(el: Element): Element | null {
  if (el.assignedSlot) return el.assignedSlot;
  if (el.parentElement) return el.parentElement;
  const root = el.getRootNode();
  return root instanceof ShadowRoot ? root.host : null;
}

/** What is painted behind `el`'s text: every ancestor's background over the white canvas. */
function backdrop(el: Element): Rgba {
  const layers: Rgba[] = [];
  for (let node: Element | null = el; node; node = composedParent(node)) {
    const style = getComputedStyle(node);
    if (style.backgroundImage !== 'none') throw new Error(`a background image behind ${describe(el)}: contrast not computable`);
    layers.push(paint(style.backgroundColor));
  }
  return layers.reduceRight<Rgba>((below, layer) => over(layer, below), [255, 255, 255, 1]);
}

function describe(el: Element): string {
  const part = el.closest('[part]')?.getAttribute('part');
  return `<${el.localName}>${part ? ` in [part="${part}"]` : ''}`;
}

export interface ContrastFinding {
  text: string;
  where: string;
  ratio: number;
  required: number;
}

/** Every visible text under `root` (shadow trees and slotted content included) below its required contrast. */
export function lowContrastText(root: Element | ShadowRoot): ContrastFinding[] {
  const findings: ContrastFinding[] = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent!.trim();
    const el = node.parentElement;
    if (!text || !el?.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
    // A slot's own fallback text shows only when nothing is assigned to it.
    const slot = el.closest('slot');
    if (slot && slot.assignedNodes().length > 0) continue;
    const style = getComputedStyle(el);
    const size = Number.parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const required = large ? 3 : 4.5;
    const bg = backdrop(el);
    const ratio = contrastRatio(over(paint(style.color), bg), bg);
    if (ratio < required) findings.push({ text: text.slice(0, 60), where: describe(el), ratio: Math.round(ratio * 100) / 100, required });
  }
  return findings;
}

/** How many text nodes `lowContrastText` measured would be there: a view with no text proves nothing. */
export function visibleTextCount(root: Element | ShadowRoot): number {
  let count = 0;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.textContent!.trim() && node.parentElement?.checkVisibility()) count++;
  }
  return count;
}
