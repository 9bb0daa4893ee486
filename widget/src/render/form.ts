/** The form: one fieldset per party this page answers for, one field per feature. */
import { html, noChange, nothing, type TemplateResult } from 'lit';
import { ifDefined } from 'lit/directives/if-defined.js';
import type { Party } from '../../../protocol/ciphertexts.ts';
import type { FeatureName } from '../../../model/features.ts';
import type { FeatureDescriptor } from '../../../model/manifest.ts';
import { UNREADABLE_NUMBER, type FieldError, type RawValue, type RawValues } from '../form/values.ts';
import type { RenderContext } from './context.ts';

export interface FormView {
  features: readonly FeatureDescriptor[];
  parties: readonly Party[];
  demo: boolean;
  values: RawValues;
  errors: Partial<Record<FeatureName, FieldError>>;
  /** Number of invalid fields after a submit attempt (0 hides the summary). */
  invalidCount: number;
  onInput: (name: FeatureName, value: RawValue) => void;
  onSubmit: (e: Event) => void;
  /** Focus entered the form (the element warms the crypto worker then). */
  onFocus: () => void;
}

export const fieldId = (name: string) => `field-${name}`;

export function renderForm(c: RenderContext, v: FormView): TemplateResult {
  return html`
    <form part="form" novalidate @submit=${v.onSubmit} @focusin=${v.onFocus} @pointerenter=${v.onFocus}>
      ${v.invalidCount > 0 ? renderErrorSummary(c, v) : nothing}
      <div class="panels ${v.demo ? 'demo' : ''}">${v.parties.map((p) => renderPanel(c, v, p))}</div>
      <div part="actions" class="actions">
        <button part="submit" class="primary" type="submit">${c.t('submit')}</button>
      </div>
      <p part="privacy-note" class="note">${c.t('privacyNote')}</p>
    </form>
  `;
}

/** The alert above the form: how many answers to fix, each a link that moves focus to its field. */
function renderErrorSummary(c: RenderContext, v: FormView): TemplateResult {
  const invalid = v.features.filter((f) => v.errors[f.name]);
  const go = (e: Event, name: string) => {
    // In a shadow root a fragment link cannot reach the field: move focus ourselves.
    e.preventDefault();
    ((e.currentTarget as HTMLElement).getRootNode() as ShadowRoot).getElementById(fieldId(name))?.focus();
  };
  return html`<div part="form-error" class="form-error" id="form-error" role="alert">
    <p>${c.t('formInvalid', { count: v.invalidCount })}</p>
    <ul>
      ${invalid.map((f) => {
        const error = v.errors[f.name]!;
        return html`<li>
          <a href="#${fieldId(f.name)}" @click=${(e: Event) => go(e, f.name)}>${c.texts.fields[f.name].label}</a>:
          ${c.t(error.id, error.values)}
        </li>`;
      })}
    </ul>
  </div>`;
}

function renderPanel(c: RenderContext, v: FormView, party: Party): TemplateResult {
  const fields = v.features.filter((f) => f.party === party);
  // One party alone needs no panel heading of its own: the form's title says it all.
  const legend = v.parties.length > 1 ? html`<legend part="panel-heading">${c.texts.parties[party]}</legend>` : nothing;
  return html`
    <fieldset part="panel panel-${party}" class="party-${party}">
      ${legend}
      <div class="fields">${fields.map((f) => renderField(c, v, f))}</div>
    </fieldset>
  `;
}

function renderField(c: RenderContext, v: FormView, f: FeatureDescriptor): TemplateResult {
  const id = fieldId(f.name);
  const text = c.texts.fields[f.name];
  const error = v.errors[f.name];
  const describedBy = `${id}-help${error ? ` ${id}-error` : ''}`;
  const label = html`<slot name="label-${f.name}">${text.label}</slot>`;
  const help = html`<span part="help" class="help" id="${id}-help">${text.help}</span>`;
  const errorText = error
    ? html`<span part="field-error" class="field-error" id="${id}-error">${c.t(error.id, error.values)}</span>`
    : nothing;
  const value = v.values[f.name];

  if (f.kind === 'boolean') {
    return html`<div part="field" class="field">
      <div class="checkbox">
        <input
          part="input"
          type="checkbox"
          id=${id}
          name=${f.name}
          .checked=${value === true}
          aria-describedby=${describedBy}
          @change=${(e: Event) => v.onInput(f.name, (e.target as HTMLInputElement).checked)}
        />
        <label part="label" for=${id}>${label}</label>
      </div>
      ${help}
    </div>`;
  }

  const control =
    f.kind === 'category'
      ? html`<select
          part="input"
          id=${id}
          name=${f.name}
          required
          aria-invalid=${error ? 'true' : 'false'}
          aria-describedby=${describedBy}
          @change=${(e: Event) => v.onInput(f.name, (e.target as HTMLSelectElement).value)}
        >
          ${f.values.map((option) => html`<option value=${option} ?selected=${value === option}>${optionText(c, f.name, option)}</option>`)}
        </select>`
      : html`<input
          part="input"
          type="number"
          id=${id}
          name=${f.name}
          required
          inputmode=${f.kind === 'integer' ? 'numeric' : 'decimal'}
          min=${f.min}
          max=${f.max}
          step=${ifDefined(f.kind === 'integer' ? '1' : 'any')}
          .value=${value === UNREADABLE_NUMBER ? noChange : typeof value === 'string' ? value : ''}
          aria-invalid=${error ? 'true' : 'false'}
          aria-describedby=${describedBy}
          @input=${(e: Event) => {
            const input = e.target as HTMLInputElement;
            // The text stays in the field as typed; only its reading is "not a number".
            v.onInput(f.name, input.validity.badInput ? UNREADABLE_NUMBER : input.value);
          }}
        />`;
  return html`<div part="field" class="field">
    <label part="label" for=${id}>${label}</label>
    ${control} ${help} ${errorText}
  </div>`;
}

function optionText(c: RenderContext, name: FeatureName, option: string): string {
  const options = c.texts.options as unknown as Record<string, Record<string, string> | undefined>;
  return options[name]?.[option] ?? option;
}
