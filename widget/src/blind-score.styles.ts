/**
 * The element's styles. Every colour, font, radius and spacing reads a `--blind-score-*` custom
 * property with an accessible default (text ≥ 4.5:1, controls and focus ≥ 3:1 on the surface).
 */
import { css } from 'lit';

export const styles = css`
  :host {
    --_accent: var(--blind-score-accent, #1d4ed8);
    --_accent-hover: var(--blind-score-accent-hover, #1e40af);
    --_accent-contrast: var(--blind-score-accent-contrast, #ffffff);
    --_text: var(--blind-score-text, #111827);
    --_muted: var(--blind-score-muted, #4b5563);
    --_surface: var(--blind-score-surface, #ffffff);
    --_subtle: var(--blind-score-subtle, #f3f4f6);
    --_border: var(--blind-score-border, #d1d5db);
    --_input-border: var(--blind-score-input-border, #6b7280);
    --_success: var(--blind-score-success, #15803d);
    --_success-bg: var(--blind-score-success-bg, #f0fdf4);
    --_danger: var(--blind-score-danger, #b91c1c);
    --_danger-bg: var(--blind-score-danger-bg, #fef2f2);
    --_focus: var(--blind-score-focus-ring, #2563eb);
    --_font: var(--blind-score-font, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
    --_heading-font: var(--blind-score-heading-font, var(--_font));
    --_font-size: var(--blind-score-font-size, 1rem);
    --_radius: var(--blind-score-radius, 0.5rem);
    --_control-radius: var(--blind-score-control-radius, 0.375rem);
    --_space: var(--blind-score-space, 1rem);
    --_max-width: var(--blind-score-max-width, 56rem);

    display: block;
    color: var(--_text);
    font-family: var(--_font);
    font-size: var(--_font-size);
    line-height: 1.5;
    container-type: inline-size;
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
    grid-template-columns: repeat(auto-fill, minmax(min(100%, 14rem), 1fr));
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
  [aria-invalid='true'] {
    border-color: var(--_danger);
    border-width: 2px;
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
  }
  .secondary {
    background: var(--_surface);
    color: var(--_accent);
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
    animation: spin 1s linear infinite;
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
  progress.bar::-webkit-progress-value {
    background: var(--_accent);
    transition: width 0.2s ease;
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
