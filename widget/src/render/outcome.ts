/** The result view (approved / denied with the explanation) and the error view. */
import { html, nothing, type TemplateResult } from 'lit';
import type { BlindScoreError } from '../errors.ts';
import type { BlindScoreDecisionDetail } from '../events.ts';
import type { MessageId } from '../translations/en.ts';
import type { RenderContext } from './context.ts';

/** What the page knows of the applicant's employment when it explains a denial. */
export interface EmploymentContext {
  /** The explanation's bits assume employment (`manifest.explanation.assume`: employed = 1). */
  assumed: boolean;
  /** The applicant's employment, when this page was given it (demo mode); else undefined. */
  employed: boolean | undefined;
}

/**
 * The sentence that explains a denial, true to the bits: "at least N years" only when every
 * longer bin is approved, else the range that is; for an applicant known not to be employed (or
 * whose bits say so: the bin from 0 years approves only someone not employed, since it would
 * otherwise be their own decision), a wording about being employed. When the bits do not assume
 * employment, employment wording would be false, so the neutral one is used.
 */
export function explanationMessage(
  d: BlindScoreDecisionDetail,
  employment: EmploymentContext,
): { id: MessageId; values?: Record<string, string | number> } {
  const from = d.explanation.minYearsEmployed;
  const to = d.explanation.untilYearsEmployed;
  const notEmployed = employment.assumed && (employment.employed === false || from === 0);
  if (from === null) return { id: notEmployed ? 'explainNotEmployedNone' : 'explainNone' };
  if (notEmployed) {
    if (to !== null) return { id: 'explainNotEmployedRange', values: { from, to } };
    return from === 0 ? { id: 'explainNotEmployed' } : { id: 'explainNotEmployedYears', values: { years: from } };
  }
  return to !== null ? { id: 'explainYearsRange', values: { from, to } } : { id: 'explainYears', values: { years: from } };
}

/**
 * The result view. `employment` words the explanation; `onChange` (when given) goes back to the
 * form with the answers kept, to check again on the same session.
 */
export function renderResult(
  c: RenderContext,
  d: BlindScoreDecisionDetail,
  onReset: () => void,
  {
    employment = { assumed: false, employed: undefined },
    onChange,
    showModelVersion = false,
  }: { employment?: EmploymentContext; onChange?: (() => void) | undefined; showModelVersion?: boolean } = {},
): TemplateResult {
  const approved = d.approved;
  const message = approved ? null : explanationMessage(d, employment);
  const explanation = message
    ? html`<div part="explain" class="explain">
        <slot name="explain">${c.t(message.id, message.values)}</slot>
      </div>`
    : nothing;
  const title = c.t(approved ? 'approvedTitle' : 'deniedTitle');
  // The section itself takes focus and carries the name, so a host's slotted content may drop the heading.
  return html`<section part="result result-${d.decision}" class="result" tabindex="-1" aria-label=${title}>
    <div part=${d.decision} class="outcome ${d.decision}">
      <slot name=${d.decision}>
        <h3>${title}</h3>
        <p>${c.t(approved ? 'approvedBody' : 'deniedBody')}</p>
      </slot>
      ${explanation}
    </div>
    ${
      // A model hash means nothing to an applicant; the demo shows it, the event always carries it.
      showModelVersion
        ? html`<p part="model-version" class="note">${c.t('modelVersion', { version: d.modelVersion.slice(0, 12) })}</p>`
        : nothing
    }
    <div part="actions" class="actions">
      ${onChange ? html`<button part="change" class="primary" type="button" @click=${onChange}>${c.t('changeAnswers')}</button>` : nothing}
      <button part="reset" class="secondary" type="button" @click=${onReset}>${c.t('startOver')}</button>
    </div>
  </section>`;
}

/** Which applicant-facing message explains an error code. */
export function errorMessageId(code: string): MessageId {
  switch (code) {
    case 'origin_not_allowed':
      return 'errorOrigin';
    case 'parties_timeout':
      return 'errorPartiesTimeout';
    case 'network_error':
    case 'stream_ended':
      return 'errorNetwork';
    case 'rate_limited':
    case 'evaluator_unavailable':
    case 'evaluator_error':
    case 'run_failed':
      return 'errorBusy';
    case 'session_expired':
    case 'session_deleted':
    case 'session_not_found':
    case 'invalid_token':
      return 'errorSession';
    case 'missing_credentials':
    case 'invalid_publishable_key':
    case 'model_version_mismatch':
    case 'invalid_manifest':
    case 'bad_response':
    case 'not_configured':
    case 'insecure_gateway':
    case 'not_found':
      return 'errorConfig';
    case 'wasm_load_failed':
    case 'keygen_failed':
    case 'encrypt_failed':
    case 'decrypt_failed':
    case 'worker_crashed':
    case 'cache_failed':
      return 'errorCrypto';
    default:
      return 'errorGeneric';
  }
}

export function renderError(c: RenderContext, error: BlindScoreError, onRetry: () => void, onEdit: (() => void) | null): TemplateResult {
  return html`<section part="error" class="error" role="alert" aria-labelledby="error-title">
    <h3 id="error-title" tabindex="-1">${c.t('errorTitle')}</h3>
    <p part="error-message">${c.t(errorMessageId(error.code), { origin: globalThis.location?.origin ?? '' })}</p>
    <p part="error-code" class="code">${c.t('errorCode', { code: error.code })}</p>
    <div part="actions" class="actions">
      <button part="retry" class="primary" type="button" @click=${onRetry}>${c.t('retry')}</button>
      ${onEdit ? html`<button part="edit" class="secondary" type="button" @click=${onEdit}>${c.t('editAnswers')}</button>` : nothing}
    </div>
  </section>`;
}
