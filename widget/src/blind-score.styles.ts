/**
 * The element's styles. Every colour, font, radius and spacing reads a `--blind-score-*` custom
 * property with an accessible default (text ≥ 4.5:1, controls and focus ≥ 3:1 on the surface).
 */
import { css } from 'lit';

/** The night theme's colours, also the default theme's under `prefers-color-scheme: dark`. */
const nightTokens = css`
  --_theme-accent: #60a5fa;
  --_theme-text: #f9fafb;
  --_theme-muted: #9ca3af;
  --_theme-surface: #111827;
  --_theme-subtle: #1f2937;
  --_theme-border: #374151;
  --_theme-input-border: #9ca3af;
  --_theme-success: #4ade80;
  --_theme-success-bg: #052e16;
  --_theme-danger: #f87171;
  --_theme-danger-bg: #450a0a;
  --_theme-focus: #93c5fd;
  color-scheme: dark;
`;

export const styles = css`
  /* Theme defaults (appearance.theme; the default follows prefers-color-scheme), then the
     host's --blind-score-* properties over them. */
  :host {
    --_theme-accent: #1d4ed8;
    --_theme-text: #111827;
    --_theme-muted: #4b5563;
    --_theme-surface: #ffffff;
    --_theme-subtle: #f3f4f6;
    --_theme-border: #d1d5db;
    --_theme-input-border: #6b7280;
    --_theme-success: #15803d;
    --_theme-success-bg: #f0fdf4;
    --_theme-danger: #b91c1c;
    --_theme-danger-bg: #fef2f2;
    --_theme-focus: #2563eb;
    --_theme-font: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
    --_theme-heading-font: var(--_font);
    --_theme-font-size: 1rem;
    --_theme-radius: 0.5rem;
    --_theme-control-radius: 0.375rem;
    --_theme-space: 1rem;
    --_theme-max-width: 56rem;
    --_accent: var(--blind-score-accent, var(--_theme-accent));
    /* Derived from the accent unless set, so a brand colour given alone keeps AA on every theme:
       hover moves the accent toward the text colour; text on either is black or white, whichever
       contrasts more (CIE L* 49.5 is where both reach 4.58:1, so the one chosen is ≥ 4.58:1). */
    --_accent-hover: var(--blind-score-accent-hover, color-mix(in oklab, var(--_accent) 80%, var(--_text)));
    --_accent-contrast: var(--blind-score-accent-contrast, lch(from var(--_accent) calc((49.5 - l) * infinity) 0 0));
    --_accent-hover-contrast: var(--blind-score-accent-contrast, lch(from var(--_accent-hover) calc((49.5 - l) * infinity) 0 0));
    --_text: var(--blind-score-text, var(--_theme-text));
    --_muted: var(--blind-score-muted, var(--_theme-muted));
    --_surface: var(--blind-score-surface, var(--_theme-surface));
    --_subtle: var(--blind-score-subtle, var(--_theme-subtle));
    --_border: var(--blind-score-border, var(--_theme-border));
    --_input-border: var(--blind-score-input-border, var(--_theme-input-border));
    --_success: var(--blind-score-success, var(--_theme-success));
    --_success-bg: var(--blind-score-success-bg, var(--_theme-success-bg));
    --_danger: var(--blind-score-danger, var(--_theme-danger));
    --_danger-bg: var(--blind-score-danger-bg, var(--_theme-danger-bg));
    --_focus: var(--blind-score-focus-ring, var(--_theme-focus));
    --_font: var(--blind-score-font, var(--_theme-font));
    --_heading-font: var(--blind-score-heading-font, var(--_theme-heading-font));
    --_font-size: var(--blind-score-font-size, var(--_theme-font-size));
    --_radius: var(--blind-score-radius, var(--_theme-radius));
    --_control-radius: var(--blind-score-control-radius, var(--_theme-control-radius));
    --_space: var(--blind-score-space, var(--_theme-space));
    --_max-width: var(--blind-score-max-width, var(--_theme-max-width));

    display: block;
    color: var(--_text);
    font-family: var(--_font);
    font-size: var(--_font-size);
    line-height: 1.5;
    container-type: inline-size;
  }
  /* night: dark surfaces, every pair still AA (text 4.5:1, controls and focus 3:1). */
  :host([data-theme='night']) {
    ${nightTokens}
  }
  /* The default theme follows the system's dark mode. */
  @media (prefers-color-scheme: dark) {
    :host(:not([data-theme])),
    :host([data-theme='default']) {
      ${nightTokens}
    }
  }
  /* flat: square corners, no outer frame, a tinted surface. */
  :host([data-theme='flat']) {
    --_theme-radius: 0;
    --_theme-control-radius: 0;
    --_theme-surface: #f9fafb;
    --_theme-border: #f9fafb;
  }
  :host([hidden]) {
    display: none;
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }

  .base {
    max-width: var(--_max-width);
    background: var(--_surface);
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    padding: calc(var(--_space) * 1.5);
    display: grid;
    gap: calc(var(--_space) * 1.25);
  }
  h2,
  h3,
  legend {
    font-family: var(--_heading-font);
    margin: 0;
    line-height: 1.25;
  }
  h2 {
    font-size: 1.375em;
  }
  h3 {
    font-size: 1.125em;
  }
  p {
    margin: 0;
  }
  .header {
    display: grid;
    gap: calc(var(--_space) * 0.5);
  }
  .intro,
  .note,
  .help {
    color: var(--_muted);
  }
  .note,
  .help {
    font-size: 0.875em;
  }
  [tabindex='-1']:focus {
    outline: none;
  }

  form {
    display: grid;
    gap: calc(var(--_space) * 1.25);
  }
  .panels {
    display: grid;
    gap: var(--_space);
  }
  fieldset {
    margin: 0;
    min-width: 0;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    padding: var(--_space);
    display: grid;
    gap: var(--_space);
  }
  legend {
    font-weight: 600;
    padding: 0 calc(var(--_space) * 0.25);
  }
  .fields {
    display: grid;
    gap: var(--_space);
    /* As many columns as fit: one in a narrow panel, two or three in a wide one. */
    /* 16rem: the longest option ("Own house or apartment") fits its select uncut. */
    grid-template-columns: repeat(auto-fill, minmax(min(100%, 16rem), 1fr));
  }
  @container (min-width: 34rem) {
    .panels.demo {
      grid-template-columns: repeat(2, minmax(0, 1fr));
    }
    .panels.demo > :first-child {
      grid-column: 1 / -1;
    }
  }

  .field {
    display: grid;
    gap: calc(var(--_space) * 0.25);
    align-content: start;
  }
  label {
    font-weight: 500;
  }
  input[type='number'],
  select {
    font: inherit;
    color: var(--_text);
    background: var(--_surface);
    border: 1px solid var(--_input-border);
    border-radius: var(--_control-radius);
    padding: calc(var(--_space) * 0.5) calc(var(--_space) * 0.625);
    min-height: 2.75em;
    width: 100%;
  }
  .checkbox {
    display: flex;
    gap: calc(var(--_space) * 0.5);
    align-items: center;
    min-height: 2.75em;
  }
  input[type='checkbox'] {
    width: 1.25em;
    height: 1.25em;
    accent-color: var(--_accent);
    margin: 0;
  }
  input:focus-visible,
  select:focus-visible,
  button:focus-visible {
    outline: 3px solid var(--_focus);
    outline-offset: 2px;
  }
  /* As specific as the control rules above, and after them: an invalid field must look it. */
  input[aria-invalid='true'],
  select[aria-invalid='true'] {
    border-color: var(--_danger);
    border-width: 2px;
    border-left-width: 6px;
  }
  /* Not by colour alone: a thicker left edge above, and a warning sign before each message. */
  .field-error::before {
    content: '\\26A0\\FE0E' / '';
    margin-inline-end: 0.375em;
  }
  .form-error p {
    margin: 0;
  }
  .form-error ul {
    margin: calc(var(--_space) * 0.25) 0 0;
    padding-inline-start: 1.25em;
  }
  .form-error a {
    color: inherit;
    text-decoration: underline;
  }
  .field-error,
  .form-error {
    color: var(--_danger);
    font-size: 0.875em;
    font-weight: 500;
  }
  .form-error {
    background: var(--_danger-bg);
    border-left: 4px solid var(--_danger);
    padding: calc(var(--_space) * 0.5) calc(var(--_space) * 0.75);
    border-radius: var(--_control-radius);
  }

  .actions {
    display: flex;
    flex-wrap: wrap;
    gap: calc(var(--_space) * 0.75);
    align-items: center;
  }
  button {
    font: inherit;
    font-weight: 600;
    border-radius: var(--_control-radius);
    padding: calc(var(--_space) * 0.625) calc(var(--_space) * 1.25);
    min-height: 2.75em;
    cursor: pointer;
    border: 1px solid var(--_accent);
  }
  .primary {
    background: var(--_accent);
    color: var(--_accent-contrast);
  }
  .primary:hover {
    background: var(--_accent-hover);
    color: var(--_accent-hover-contrast);
  }
  /* The text colour, not the accent: a brand accent need not contrast with the surface as text. */
  .secondary {
    background: var(--_surface);
    color: var(--_text);
  }
  .secondary:hover {
    background: var(--_subtle);
  }

  .progress,
  .result,
  .error {
    display: grid;
    gap: var(--_space);
  }
  ol.steps {
    list-style: none;
    margin: 0;
    padding: 0;
    display: grid;
    gap: calc(var(--_space) * 0.75);
  }
  .step {
    display: grid;
    grid-template-columns: 1.5em 1fr;
    column-gap: calc(var(--_space) * 0.75);
    row-gap: calc(var(--_space) * 0.375);
    align-items: center;
  }
  .step .marker {
    width: 1.5em;
    height: 1.5em;
    border-radius: 50%;
    border: 2px solid var(--_input-border);
    display: grid;
    place-items: center;
    font-size: 0.875em;
    color: var(--_accent-contrast);
  }
  .step.done .marker {
    background: var(--_success);
    border-color: var(--_success);
  }
  .step.active .marker {
    border-color: var(--_accent);
    border-top-color: transparent;
    /* A transform only: the compositor turns it, the page's thread does nothing per frame. */
    will-change: transform;
    animation: spin 1s linear infinite;
  }
  /* A step whose bar moves shows its life there: a still ring, and no 60 frames a second to draw. */
  .step.active.moving .marker {
    border-top-color: var(--_accent);
    will-change: auto;
    animation: none;
  }
  .step.pending .label {
    color: var(--_muted);
  }
  .step.active .label {
    font-weight: 600;
  }
  .step .detail {
    grid-column: 2;
    color: var(--_muted);
    font-size: 0.875em;
  }
  progress.bar {
    grid-column: 2;
    appearance: none;
    width: 100%;
    height: 0.5em;
    background: var(--_subtle);
    border: 1px solid var(--_input-border);
    border-radius: 999px;
    overflow: hidden;
    color: var(--_accent);
  }
  progress.bar::-webkit-progress-bar {
    background: transparent;
  }
  /* No transition on the value's width: it would lay out and paint every frame of a run. */
  progress.bar::-webkit-progress-value {
    background: var(--_accent);
  }
  progress.bar::-moz-progress-bar {
    background: var(--_accent);
  }
  progress.bar:indeterminate {
    background: linear-gradient(90deg, var(--_subtle) 0 30%, var(--_accent) 45% 55%, var(--_subtle) 70% 100%);
    background-size: 300% 100%;
    animation: slide 1.4s linear infinite;
  }
  @keyframes spin {
    to {
      transform: rotate(360deg);
    }
  }
  @keyframes slide {
    from {
      background-position: 100% 0;
    }
    to {
      background-position: 0 0;
    }
  }
  @media (prefers-reduced-motion: reduce) {
    .step.active .marker,
    progress.bar:indeterminate {
      animation: none;
    }
  }

  .outcome {
    border-radius: var(--_radius);
    padding: var(--_space);
    display: grid;
    gap: calc(var(--_space) * 0.5);
    border-left: 6px solid;
  }
  .outcome.approved {
    background: var(--_success-bg);
    border-color: var(--_success);
  }
  .outcome.denied {
    background: var(--_danger-bg);
    border-color: var(--_danger);
  }
  .outcome h3 {
    font-size: 1.25em;
  }
  .approved h3 {
    color: var(--_success);
  }
  .denied h3 {
    color: var(--_danger);
  }
  .explain {
    font-weight: 500;
  }
  .error {
    background: var(--_danger-bg);
    border-left: 6px solid var(--_danger);
    border-radius: var(--_radius);
    padding: var(--_space);
  }
  .error h3 {
    color: var(--_danger);
  }
  .code {
    font-family: ui-monospace, monospace;
    font-size: 0.875em;
    color: var(--_muted);
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    margin: -1px;
    padding: 0;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }
`;
