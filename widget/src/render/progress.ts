/** The running view: each long step with its state, a progress bar, and a cancel button. */
import { html, nothing, type TemplateResult } from 'lit';
import { PROGRESS_STAGES, SessionStage, type ProgressStage } from '../session-stage.ts';
import type { MessageId } from '../translations/en.ts';
import type { RenderContext } from './context.ts';

export interface StepState {
  status: 'pending' | 'active' | 'done';
  /** 0–1, or `null` when the step cannot measure itself. */
  fraction: number | null;
  bytesSent?: number;
  bytesTotal?: number;
  queuePosition?: number;
}

export type Steps = Record<ProgressStage, StepState>;

export const STEP_LABELS: Record<ProgressStage, MessageId> = {
  [SessionStage.Keygen]: 'stepKeygen',
  [SessionStage.Uploading]: 'stepUpload',
  [SessionStage.Encrypting]: 'stepEncrypt',
  [SessionStage.WaitingForParties]: 'stepWaiting',
  [SessionStage.Running]: 'stepEvaluate',
  [SessionStage.Decrypting]: 'stepDecrypt',
};

export function initialSteps(): Steps {
  return Object.fromEntries(PROGRESS_STAGES.map((s) => [s, { status: 'pending', fraction: 0 }])) as Steps;
}

/** Formats a byte count for people: `12.3 MB`. */
export function formatBytes(bytes: number, locale: string): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: unit === 0 ? 0 : 1 }).format(value)} ${units[unit]}`;
}

export function renderProgress(
  c: RenderContext,
  steps: Steps,
  shown: readonly ProgressStage[],
  locale: string,
  onCancel: () => void,
  /** A sentence under the title, e.g. why the keys are prepared only now. */
  note?: string,
): TemplateResult {
  return html`<section part="progress" class="progress" aria-labelledby="progress-title">
    <h3 id="progress-title" tabindex="-1">${c.t('runningTitle')}</h3>
    ${note ? html`<p part="progress-note" class="note">${note}</p>` : nothing}
    <ol part="steps" class="steps">
      ${shown.map((stage) => renderStep(c, stage, steps[stage], locale))}
    </ol>
    <div part="actions" class="actions">
      <button part="cancel" class="secondary" type="button" @click=${onCancel}>${c.t('cancel')}</button>
    </div>
  </section>`;
}

function renderStep(c: RenderContext, stage: ProgressStage, s: StepState, locale: string): TemplateResult {
  const label = c.t(STEP_LABELS[stage]);
  const statusText = c.t(s.status === 'done' ? 'stepDone' : s.status === 'active' ? 'stepActive' : 'stepPending');
  let detail: string | undefined;
  if (s.status === 'active' && s.bytesTotal !== undefined) {
    detail = c.t('bytesProgress', {
      sent: formatBytes(s.bytesSent ?? 0, locale),
      total: formatBytes(s.bytesTotal, locale),
    });
  } else if (s.status === 'active' && s.queuePosition !== undefined && s.queuePosition > 0) {
    detail = c.t('queued', { count: s.queuePosition });
  }
  const percent = s.fraction === null ? null : Math.round(s.fraction * 100);
  // Once its bar has moved, an active step's marker stops spinning (see the styles).
  const moving = s.status === 'active' && s.fraction !== null && s.fraction > 0;
  return html`<li part="step step-${s.status}" class="step ${s.status}${moving ? ' moving' : ''}" data-stage=${stage}>
    <span class="marker" aria-hidden="true">${s.status === 'done' ? '✓' : ''}</span>
    <span class="label">${label} <span class="visually-hidden">(${statusText})</span></span>
    ${
      s.status === 'active'
        ? // A native <progress>: no style attribute (a strict style-src blocks those), and no value
          // attribute means indeterminate.
          html`<progress part="progress-bar" class="bar" max="100" value=${percent ?? nothing} aria-label=${label}></progress>`
        : nothing
    }
    ${detail ? html`<span class="detail">${detail}</span>` : nothing}
  </li>`;
}
