/**
 * The Custom Elements Manifest, generated as `npm run build:widget` does, lists everything the
 * widget README documents of `<blind-score>`: every attribute and property, event, slot and CSS part.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

interface Named {
  name: string;
  fieldName?: string;
  kind?: string;
  privacy?: string;
}
interface ElementDeclaration {
  tagName?: string;
  customElement?: boolean;
  attributes?: Named[];
  members?: Named[];
  events?: Named[];
  slots?: Named[];
  cssParts?: Named[];
  cssProperties?: Named[];
}

// The analyzer resolves --outdir against the working directory, so it stays inside the repository.
mkdirSync(join('tests', '.cache'), { recursive: true });
const out = mkdtempSync(join('tests', '.cache', 'cem-'));
let element: ElementDeclaration;
let readme: string;

beforeAll(() => {
  execFileSync(
    join('node_modules', '.bin', 'cem'),
    ['analyze', '--config', 'widget/custom-elements-manifest.config.mjs', '--outdir', out],
    { stdio: 'pipe' },
  );
  const manifest = JSON.parse(readFileSync(join(out, 'custom-elements.json'), 'utf8')) as {
    modules: Array<{ declarations?: ElementDeclaration[] }>;
  };
  element = manifest.modules.flatMap((m) => m.declarations ?? []).find((d) => d.customElement && d.tagName === 'blind-score')!;
  readme = readFileSync('widget/README.md', 'utf8');
}, 120_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** The README section under `heading`, up to the next heading. */
function section(heading: string): string {
  const start = readme.indexOf(`\n${heading}\n`);
  expect(start, heading).toBeGreaterThan(-1);
  const rest = readme.slice(start + heading.length + 2);
  return rest.slice(0, rest.search(/\n#{2,3} /));
}

/** First-column (or `column`-th) back-quoted names of a Markdown table's rows. */
function tableColumn(text: string, column: number): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('| `') || (column > 0 && l.startsWith('|')))
    .map((l) => l.split('|')[column + 1]!.trim())
    .filter((cell) => /^`[^`]+`$/.test(cell))
    .map((cell) => cell.slice(1, -1));
}

/** Back-quoted names between two markers of a text, without parenthesised variants and examples. */
function between(text: string, from: string, to: string): string[] {
  const start = text.indexOf(from);
  const end = text.indexOf(to, start);
  expect(start, from).toBeGreaterThan(-1);
  expect(end, to).toBeGreaterThan(start);
  return [
    ...text
      .slice(start + from.length, end)
      .replace(/\([^)]*\)/g, '')
      .matchAll(/`([^`]+)`/g),
  ].map((m) => m[1]!);
}

const names = (list: Named[] | undefined) => new Set((list ?? []).map((x) => x.name));

describe('custom-elements.json', () => {
  test('declares <blind-score>', () => {
    expect(element).toBeDefined();
  });

  test('has every documented attribute and property', () => {
    const table = section('## Attributes and properties');
    const attributes = tableColumn(table, 0);
    const properties = tableColumn(table, 1);
    expect(attributes.length).toBeGreaterThanOrEqual(5);
    for (const a of attributes) expect(names(element.attributes), a).toContain(a);
    const publicMembers = new Set((element.members ?? []).filter((m) => m.privacy !== 'private').map((m) => m.name));
    for (const p of properties) expect(publicMembers, p).toContain(p);
    // Lit's internal state is not part of the API.
    for (const a of element.attributes ?? []) expect(publicMembers, a.name).toContain(a.fieldName ?? a.name);
  });

  test('has every documented event', () => {
    const events = tableColumn(section('## Events'), 0);
    expect(events).toContain('blind-score:decision');
    for (const e of events) expect(names(element.events), e).toContain(e);
  });

  test('has every documented slot and CSS part', () => {
    const slots = tableColumn(section('## Slots'), 0);
    const parts = between(section('## Styling'), 'Parts (`::part(…)`):', 'Custom properties');
    expect(slots).toContain('approved');
    expect(parts.length).toBeGreaterThan(20);
    for (const s of slots) expect(names(element.slots), s).toContain(s);
    for (const p of parts) expect(names(element.cssParts), p).toContain(p);
  });

  test('has the documented custom properties', () => {
    expect(names(element.cssProperties)).toContain('--blind-score-accent');
  });
});
