/** Helpers for suites that drive `<blind-score>`: mounting, audits, cached keys, screenshots. */
import 'axe-core';
import { fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import { render } from 'lit';
import { executeServerCommand } from '@web/test-runner-commands';
import type { AxeResults } from 'axe-core';
import '../../../widget/src/blind-score.ts';
import type { BlindScore } from '../../../widget/src/blind-score.ts';
import { deleteCachedKeys, keyCacheName } from '../../../widget/src/crypto/key-cache.ts';
import { cacheReferenceKeys, GATEWAY_URL } from './fixtures.ts';

export { GATEWAY_URL };

declare global {
  interface Window {
    axe: typeof import('axe-core');
  }
}

export interface MountOptions {
  mode?: 'applicant' | 'demo';
  locale?: string;
  cacheKeys?: boolean;
  /** The scripted test gateway unless given. */
  gatewayUrl?: string;
  /**
   * Keep the element past the end of the test (a fixture is removed after each): for cases that
   * go on with the same element, its keys and its session. The caller removes it.
   */
  persist?: boolean;
}

/** Mounts an element (on the scripted test gateway unless told another) and waits for its form. */
export async function mount(key: string, attrs: MountOptions = {}): Promise<BlindScore> {
  const template = html`<blind-score
    gateway-url=${attrs.gatewayUrl ?? GATEWAY_URL}
    publishable-key=${key}
    mode=${attrs.mode ?? 'demo'}
    locale=${attrs.locale ?? 'en'}
    ?cache-keys=${attrs.cacheKeys ?? true}
  ></blind-score>`;
  let el: BlindScore;
  if (attrs.persist) {
    const container = document.body.appendChild(document.createElement('div'));
    render(template, container);
    el = container.firstElementChild as BlindScore;
    await el.updateComplete;
  } else {
    el = await fixture<BlindScore>(template);
  }
  await waitUntil(() => part(el, 'form') || part(el, 'error'), 'the form or an error appears', { timeout: 10_000 });
  return el;
}

/** The first element of a part inside the shadow root. */
export function part<T extends Element = HTMLElement>(el: BlindScore, name: string): T | null {
  return el.shadowRoot!.querySelector<T>(`[part~="${name}"]`);
}

export function parts(el: BlindScore, name: string): HTMLElement[] {
  return [...el.shadowRoot!.querySelectorAll<HTMLElement>(`[part~="${name}"]`)];
}

export function control<T extends HTMLInputElement | HTMLSelectElement = HTMLInputElement>(el: BlindScore, name: string): T {
  const c = el.shadowRoot!.querySelector<T>(`[name="${name}"]`);
  if (!c) throw new Error(`no control ${name}`);
  return c;
}

/** Sets a control like a person would, firing the event the element listens to. */
export async function answer(el: BlindScore, name: string, value: string | boolean): Promise<void> {
  const c = control(el, name);
  if (c instanceof HTMLInputElement && c.type === 'checkbox') {
    if (c.checked !== value) c.click();
  } else {
    c.value = String(value);
    c.dispatchEvent(new Event(c instanceof HTMLSelectElement ? 'change' : 'input', { bubbles: true }));
  }
  await el.updateComplete;
}

/** Runs axe-core on the element (shadow DOM included) and fails listing every violation. */
export async function audit(el: Element): Promise<void> {
  const results: AxeResults = await window.axe.run(el, { resultTypes: ['violations'] });
  const violations = results.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).join('\n    ')}`,
  );
  if (violations.length > 0) throw new Error(`axe found ${violations.length} violation(s):\n${violations.join('\n')}`);
}

/**
 * Puts the reference client's test keys (node-tfhe, via the oracle) into the key cache the
 * element reads with `cache-keys`, so flows skip the multi-second key generation.
 */
export async function seedCachedKeys(): Promise<() => Promise<void>> {
  const name = keyCacheName('tuniform');
  await cacheReferenceKeys(name);
  return () => deleteCachedKeys(name);
}

/** Submits and resolves with the event that ends the check. */
export async function submitAndWait<K extends 'blind-score:decision' | 'blind-score:error'>(
  el: BlindScore,
  ending: K,
): Promise<GlobalEventHandlersEventMap[K]> {
  const done = oneEvent(el, ending) as Promise<GlobalEventHandlersEventMap[K]>;
  part<HTMLButtonElement>(el, 'submit')!.click();
  const event = await done;
  await el.updateComplete;
  return event;
}

/** Saves a PNG of the element under tests/browser/.screenshots/ for review. */
export async function snap(name: string, el: Element): Promise<void> {
  const r = el.getBoundingClientRect();
  await executeServerCommand('screenshot', {
    name,
    clip: { x: Math.max(0, r.x - 16), y: Math.max(0, r.y - 16), width: r.width + 32, height: r.height + 32 },
  });
}

/** The element's deepest focused node. */
export function focused(el: BlindScore): Element | null {
  return el.shadowRoot!.activeElement;
}
