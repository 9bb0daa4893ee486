/** The result view (approved / denied with the explanation) and the error view. */
import { html, nothing, type TemplateResult } from 'lit';
import type { BlindScoreError } from '../errors.ts';
import type { BlindScoreDecisionDetail } from '../events.ts';
import type { MessageId } from '../translations/en.ts';
import type { RenderContext } from './context.ts';

/** `onChange` (when given) goes back to the form with the answers kept, to check again on the same session. */
export function renderResult(c: RenderContext, d: BlindScoreDecisionDetail, onReset: () => void, onChange?: () => void): TemplateResult {
  const approved = d.approved;
  const explanation = approved
    ? nothing
    : html`<div part="explain" class="explain">
        <slot name="explain">
          ${d.explanation.minYearsEmployed !== null
            ? c.t('explainYears', { years: d.explanation.minYearsEmployed })
            : c.t('explainNone')}
        </slot>
      </div>`;
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
    <p part="model-version" class="note">${c.t('modelVersion', { version: d.modelVersion.slice(0, 12) })}</p>
    <div part="actions" class="actions">
      ${onChange
        ? html`<button part="change" class="primary" type="button" @click=${onChange}>${c.t('changeAnswers')}</button>`
        : nothing}
      <button part="reset" class="secondary" type="button" @click=${onReset}>${c.t('startOver')}</button>
    </div>
  </section>`;
}

/** Which applicant-facing message explains an error code. */
export function errorMessageId(code: string): MessageId {
  switch (code) {
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
    case 'origin_not_allowed':
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

export function renderError(
  c: RenderContext,
  error: BlindScoreError,
  onRetry: () => void,
  onEdit: (() => void) | null,
): TemplateResult {
  return html`<section part="error" class="error" role="alert" aria-labelledby="error-title">
    <h3 id="error-title" tabindex="-1">${c.t('errorTitle')}</h3>
    <p part="error-message">${c.t(errorMessageId(error.code))}</p>
    <p part="error-code" class="code">${c.t('errorCode', { code: error.code })}</p>
    <div part="actions" class="actions">
      <button part="retry" class="primary" type="button" @click=${onRetry}>${c.t('retry')}</button>
      ${onEdit
        ? html`<button part="edit" class="secondary" type="button" @click=${onEdit}>${c.t('editAnswers')}</button>`
        : nothing}
    </div>
  </section>`;
}
