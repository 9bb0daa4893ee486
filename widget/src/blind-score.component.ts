import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { updateWhenLocaleChanges } from '@lit/localize';
import type { Party } from '../../protocol/ciphertexts.ts';
import type { CreditFeatures, FeatureName } from '../../model/features.ts';
import { mergeLabels, type LabelOverrides } from './form/labels.ts';
import { parseManifest, type Manifest } from '../../model/manifest.ts';
import { GatewayClient, type SessionHandle } from './api/gateway-client.ts';
import { styles } from './blind-score.styles.ts';
import { CryptoWorkerController } from './crypto/crypto-worker-controller.ts';
import { keyCacheName } from './crypto/key-cache.ts';
import type { KeygenResult } from './crypto/worker-protocol.ts';
import { DevWarning, isSecureGatewayUrl, warnOnce } from './dev-warnings.ts';
import { BlindScoreError, toBlindScoreError } from './errors.ts';
import { emit, type BlindScoreDecisionDetail, type BlindScoreProgressDetail } from './events.ts';
import { runCheck, type Answers } from './flow/run-check.ts';
import {
  askedFeatures,
  askedParties,
  collectParty,
  initialValues,
  plausibilityErrors,
  type FieldError,
  type RawValue,
  type RawValues,
} from './form/values.ts';
import type { RenderContext } from './render/context.ts';
import { fieldId, renderForm } from './render/form.ts';
import { errorMessageId, renderError, renderResult } from './render/outcome.ts';
import { STEP_LABELS, initialSteps, renderProgress, type Steps } from './render/progress.ts';
import { PROGRESS_STAGES, SessionStage, type ProgressStage } from './session-stage.ts';
import type { MessageId, Translation } from './translations/en.ts';
import { currentLocale, resolveLocale, setLocale, translate } from './translations/localize.ts';

export type BlindScoreMode = 'applicant' | 'demo';

/** Manifests already checked by `parseManifest` (fetched, or set by the host and checked once). */
const checkedManifests = new WeakSet<Manifest>();

/** The features each mode's form asks for. */
const MODE_PARTIES: Record<BlindScoreMode, readonly Party[]> = {
  applicant: ['applicant'],
  demo: ['applicant', 'bank', 'bureau'],
};

/**
 * @summary Privacy-preserving credit-card eligibility: the applicant's answers are encrypted in
 * the page (TFHE), evaluated on ciphertexts, and only this page decrypts the decision.
 *
 * @slot approved - Replaces the default "likely approved" content.
 * @slot denied - Replaces the default "likely not approved" content.
 * @slot explain - Replaces the default explanation under a denial ("with at least N years…").
 * @slot label-<feature> - Replaces a field's label, e.g. `label-total_income` (texts: the `labels` property).
 *
 * @csspart base - The outer box.
 * @csspart header - Title and introduction.
 * @csspart title - The title.
 * @csspart intro - The introduction and, in demo mode, the demo note.
 * @csspart form - The form.
 * @csspart form-error - The summary shown when fields are invalid.
 * @csspart panel - Each party's fieldset (also `panel-applicant`, `panel-bank`, `panel-bureau`).
 * @csspart panel-heading - A panel's legend (demo mode).
 * @csspart field - One field's wrapper.
 * @csspart label - A field's label.
 * @csspart input - A field's control.
 * @csspart help - A field's help text.
 * @csspart field-error - A field's validation message.
 * @csspart actions - Each row of buttons.
 * @csspart submit - The submit button.
 * @csspart privacy-note - The note under the form.
 * @csspart progress - The running view.
 * @csspart steps - The list of steps.
 * @csspart step - One step (also `step-pending`, `step-active`, `step-done`).
 * @csspart progress-bar - The active step's bar.
 * @csspart cancel - The cancel button.
 * @csspart result - The result view (also `result-approved`, `result-denied`).
 * @csspart approved - The approved outcome box.
 * @csspart denied - The denied outcome box.
 * @csspart explain - The explanation under a denial.
 * @csspart model-version - The model version line.
 * @csspart reset - The start-over button.
 * @csspart error - The error view.
 * @csspart error-message - The error's explanation.
 * @csspart error-code - The error's code.
 * @csspart retry - The retry button.
 * @csspart edit - The edit-answers button.
 * @csspart loading - Shown while the manifest loads.
 *
 * @cssproperty --blind-score-accent - Buttons, focus and progress colour.
 * @cssproperty --blind-score-accent-hover - Primary button hover colour.
 * @cssproperty --blind-score-accent-contrast - Text on the accent colour.
 * @cssproperty --blind-score-text - Text colour.
 * @cssproperty --blind-score-muted - Secondary text colour.
 * @cssproperty --blind-score-surface - Background colour.
 * @cssproperty --blind-score-subtle - Track and hover background.
 * @cssproperty --blind-score-border - Box borders.
 * @cssproperty --blind-score-input-border - Control borders.
 * @cssproperty --blind-score-success - Approved colour.
 * @cssproperty --blind-score-success-bg - Approved background.
 * @cssproperty --blind-score-danger - Denied, error and validation colour.
 * @cssproperty --blind-score-danger-bg - Denied and error background.
 * @cssproperty --blind-score-focus-ring - Focus outline colour.
 * @cssproperty --blind-score-font - Font family.
 * @cssproperty --blind-score-heading-font - Heading font family.
 * @cssproperty --blind-score-font-size - Base font size.
 * @cssproperty --blind-score-radius - Box corner radius.
 * @cssproperty --blind-score-control-radius - Control corner radius.
 * @cssproperty --blind-score-space - Spacing unit.
 * @cssproperty --blind-score-max-width - Maximum width.
 *
 * @event blind-score:progress - `{ stage, fraction, bytesSent?, bytesTotal?, queuePosition? }` during a check.
 * @event blind-score:decision - `{ decision, approved, explanation, modelVersion }` once decrypted.
 * @event blind-score:error - `{ code, message, retriable }` when a check or the manifest fails.
 * @event blind-score:session - `{ sessionId, missingParties }` once the gateway session exists.
 */
export class BlindScore extends LitElement {
  static override styles = styles;

  static override properties = {
    gatewayUrl: { type: String, attribute: 'gateway-url' },
    publishableKey: { type: String, attribute: 'publishable-key' },
    mode: { type: String, reflect: true },
    locale: { type: String },
    cacheKeys: { type: Boolean, attribute: 'cache-keys' },
    strings: { attribute: false },
    defaults: { attribute: false },
    manifest: { attribute: false },
    labels: { attribute: false },
    stage: { state: true },
    steps: { state: true },
    values: { state: true },
    fieldErrors: { state: true },
    invalidCount: { state: true },
    decision: { state: true },
    failure: { state: true },
    announcement: { state: true },
  };

  private readonly crypto = new CryptoWorkerController(this);

  private declare stage: SessionStage;
  private declare steps: Steps;
  private declare values: RawValues;
  private declare fieldErrors: Partial<Record<FeatureName, FieldError>>;
  private declare invalidCount: number;
  private declare decision: BlindScoreDecisionDetail | null;
  private declare failure: BlindScoreError | null;
  private declare announcement: string;

  /** Base URL of the BlindScore gateway (`gateway-url`). */
  declare gatewayUrl: string;
  /** The bank's publishable key (`publishable-key`); safe to embed in pages. */
  declare publishableKey: string;
  /** `applicant` (default): only the applicant's form. `demo`: bank and bureau panels too. */
  declare mode: BlindScoreMode;
  /** `en` or `fr`; defaults to the page's `lang`. Shared by every `<blind-score>` on the page. */
  declare locale: string | undefined;
  /** Keep the keys in this origin's IndexedDB for returning applicants (`cache-keys`). Opt-in. */
  declare cacheKeys: boolean;
  /** Overrides of any visible string, by id (see `translations/en.ts`). */
  declare strings: Partial<Translation> | undefined;
  /** Starting answers, e.g. values the bank already knows. */
  declare defaults: Partial<CreditFeatures> | undefined;
  /** The model manifest; fetched from the gateway when not set. */
  declare manifest: Manifest | undefined;
  /** Overrides of the manifest's form texts (labels, help, option names, panel headings). */
  declare labels: LabelOverrides | undefined;

  private abort: AbortController | undefined;
  private manifestRequest: Promise<void> | undefined;
  private keys: KeygenResult | undefined;
  private pendingFocus: string | undefined;
  private lastAnswers: Answers | undefined;
  /** The applicant's employment as this page answered it (demo mode), for the explanation's wording. */
  private decidedEmployment: boolean | undefined;
  /** The session of a check that failed retriably after its uploads: "Try again" re-runs it. */
  private resumable: SessionHandle | undefined;
  private preparing: Promise<void> | undefined;

  constructor() {
    super();
    updateWhenLocaleChanges(this);
    this.gatewayUrl = '';
    this.publishableKey = '';
    this.mode = 'applicant';
    this.cacheKeys = false;
    this.stage = SessionStage.Idle;
    this.steps = initialSteps();
    this.values = {};
    this.fieldErrors = {};
    this.invalidCount = 0;
    this.decision = null;
    this.failure = null;
    this.announcement = '';
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.applyLocale();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.abort?.abort();
    // The controller stops the worker: its key and its loaded wasm go with it.
    this.keys = undefined;
    this.dropResumable();
    this.preparing = undefined;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('locale')) this.applyLocale();
    if (changed.has('manifest') && this.manifest && !checkedManifests.has(this.manifest)) {
      // A host may hand over a manifest: check it as if it came from the gateway.
      try {
        this.manifest = parseManifest(this.manifest);
        checkedManifests.add(this.manifest);
        if (this.failure?.code === 'invalid_manifest') {
          this.failure = null;
          this.stage = SessionStage.Idle;
        }
      } catch (e) {
        this.manifest = undefined;
        this.fail(new BlindScoreError('invalid_manifest', e instanceof Error ? e.message : String(e)));
        return;
      }
    }
    if (changed.has('mode') && this.mode !== 'applicant' && this.mode !== 'demo') {
      warnOnce(DevWarning.UnknownMode, `mode must be "applicant" or "demo", got "${String(this.mode)}"; using "applicant"`);
    }
    if ((changed.has('manifest') || changed.has('mode') || changed.has('defaults')) && this.manifest && this.stage === SessionStage.Idle) {
      this.values = { ...initialValues(askedFeatures(this.manifest), this.formMode, this.defaults), ...this.editedValues };
    }
    if (changed.has('gatewayUrl') || changed.has('publishableKey')) this.checkConfiguration();
  }

  protected override updated(): void {
    if (!this.manifest && !this.failure && this.gatewayUrl && this.publishableKey && !this.manifestRequest) {
      this.manifestRequest = this.loadManifest().finally(() => (this.manifestRequest = undefined));
    }
    if (this.pendingFocus) {
      const target = this.renderRoot.querySelector<HTMLElement>(this.pendingFocus);
      this.pendingFocus = undefined;
      target?.focus();
    }
  }

  private get formMode(): BlindScoreMode {
    return this.mode === 'demo' ? 'demo' : 'applicant';
  }

  /** Values the applicant typed, kept when the manifest or mode changes under them. */
  private editedValues: RawValues = {};

  private applyLocale(): void {
    const wanted = this.locale ?? this.closest('[lang]')?.getAttribute('lang') ?? document.documentElement.lang;
    const locale = resolveLocale(wanted);
    if (this.locale && locale !== this.locale.toLowerCase().split('-')[0]) {
      warnOnce(DevWarning.UnknownLocale, `locale "${this.locale}" is not bundled; using "${locale}"`);
    }
    if (locale !== currentLocale()) void setLocale(locale);
  }

  private checkConfiguration(): void {
    if (this.gatewayUrl && !this.publishableKey) {
      warnOnce(DevWarning.NoPublishableKey, 'gateway-url is set but publishable-key is missing');
    }
    if (this.gatewayUrl && !isSecureGatewayUrl(this.gatewayUrl)) {
      warnOnce(DevWarning.InsecureGateway, `gateway-url should be https (got ${this.gatewayUrl})`);
    }
  }

  private client(): GatewayClient {
    if (!this.gatewayUrl || !this.publishableKey) {
      throw new BlindScoreError('not_configured', 'set gateway-url and publishable-key');
    }
    // Refused in every build (the dev warning alone is stripped from production): over plain
    // http the publishable key, the session token and the ciphertexts could be read or swapped.
    if (!isSecureGatewayUrl(this.gatewayUrl)) {
      throw new BlindScoreError('insecure_gateway', 'gateway-url must be https (plain http is allowed for loopback hosts only)');
    }
    return new GatewayClient({ baseUrl: this.gatewayUrl, publishableKey: this.publishableKey });
  }

  private async loadManifest(): Promise<void> {
    try {
      const manifest = await this.client().manifest(parseManifest);
      checkedManifests.add(manifest);
      this.manifest = manifest;
    } catch (e) {
      this.fail(toBlindScoreError(e));
    }
  }

  private t = (id: MessageId, values?: Record<string, string | number>): string => translate(id, this.strings, values);

  private renderContext(manifest: Manifest): RenderContext {
    const locale = currentLocale();
    return { t: this.t, texts: mergeLabels(manifest.labels[locale] ?? manifest.labels.en!, this.labels) };
  }

  // ---------------------------------------------------------------------------------------------
  // Handlers

  private handleInput = (name: FeatureName, value: RawValue): void => {
    this.values = { ...this.values, [name]: value };
    this.editedValues = { ...this.editedValues, [name]: value };
    if (this.invalidCount > 0) this.validate();
  };

  /** The applicant reached the form: load the wasm while they answer. */
  private handleFormFocus = (): void => void this.prepare();

  private handleSubmit = (e: Event): void => {
    e.preventDefault();
    void this.start();
  };

  private handleCancel = (): void => this.cancel();

  private handleRetry = (): void => {
    if (!this.manifest) {
      // The manifest failed to load: clearing the failure makes `updated()` fetch it again.
      this.failure = null;
      this.stage = SessionStage.Idle;
      return;
    }
    if (this.lastAnswers) void this.check(this.lastAnswers, this.resumable);
    else this.reset();
  };

  private handleEdit = (): void => this.showForm(`#${fieldId(this.firstField)}`);

  /** The first field the form asks for. */
  private get firstField(): string {
    return this.manifest ? (askedFeatures(this.manifest)[0]?.name ?? '') : '';
  }

  private handleReset = (): void => this.reset();

  private handleProgress(detail: BlindScoreProgressDetail): void {
    const index = PROGRESS_STAGES.indexOf(detail.stage);
    const steps = { ...this.steps };
    PROGRESS_STAGES.forEach((stage, i) => {
      if (i < index && steps[stage].status !== 'done') steps[stage] = { status: 'done', fraction: 1 };
    });
    const done = detail.fraction === 1;
    const { stage: _stage, ...rest } = detail;
    steps[detail.stage] = { ...rest, status: done ? 'done' : 'active' };
    if (!done && this.steps[detail.stage].status !== 'active') this.announcement = this.t(STEP_LABELS[detail.stage]);
    this.steps = steps;
    if (!done) this.stage = detail.stage;
    emit(this, 'blind-score:progress', detail);
  }

  // ---------------------------------------------------------------------------------------------
  // Public methods

  /** Validates the form and, when valid, runs a check. Resolves when it ends. */
  async start(): Promise<void> {
    if (!this.manifest || this.isRunning) return;
    const answers = this.validate();
    if (!answers) {
      const first = Object.keys(this.fieldErrors)[0];
      this.pendingFocus = first ? `#${fieldId(first)}` : undefined;
      return;
    }
    await this.check(answers);
  }

  /** Stops a running check and returns to the form. */
  cancel(): void {
    if (!this.isRunning) return;
    this.abort?.abort();
    // A key generation is one long wasm call: only stopping the worker stops it.
    if (this.stage === SessionStage.Keygen || this.stage === SessionStage.Encrypting || this.stage === SessionStage.Decrypting) {
      this.crypto.cancel();
      this.keys = undefined;
      this.preparing = undefined;
    }
    this.showForm('[part~="submit"]');
    this.announcement = this.t('cancelled');
  }

  /** Back to a fresh form with the starting answers. */
  reset(): void {
    if (this.isRunning) this.cancel();
    this.editedValues = {};
    if (this.manifest) this.values = initialValues(askedFeatures(this.manifest), this.formMode, this.defaults);
    this.showForm(`#${fieldId(this.firstField)}`);
  }

  /** Whether every field is valid; shows the messages when not. */
  checkValidity(): boolean {
    return this.validate() !== null;
  }

  /**
   * Starts the crypto worker and loads tfhe's wasm ahead of a check, so the check itself only
   * pays for key generation. The element calls it when the applicant first reaches the form;
   * a host may call it earlier. Resolves once ready; never rejects (a check reports failures).
   */
  prepare(): Promise<void> {
    this.preparing ??= this.crypto.request({ type: 'warm' }).then(
      () => undefined,
      () => {
        this.preparing = undefined;
      },
    );
    return this.preparing;
  }

  /** Forgets the keys: in the worker and, with `cache-keys`, in IndexedDB. */
  async forgetKeys(): Promise<void> {
    this.keys = undefined;
    await this.crypto.request({ type: 'forget', cacheName: this.cacheName });
  }

  // ---------------------------------------------------------------------------------------------

  private get isRunning(): boolean {
    return (PROGRESS_STAGES as readonly string[]).includes(this.stage);
  }

  private get cacheName(): string | null {
    return this.cacheKeys && this.manifest ? keyCacheName(this.manifest.parameterSet.id) : null;
  }

  /** Forgets a kept session (its key and answers) at the gateway now rather than at its TTL. */
  private dropResumable(): void {
    const session = this.resumable;
    this.resumable = undefined;
    if (!session || !this.gatewayUrl || !this.publishableKey) return;
    this.client().deleteSession(session).catch(() => undefined);
  }

  private validate(): Answers | null {
    const manifest = this.manifest;
    if (!manifest) return null;
    const answers: Answers = {};
    let errors: Partial<Record<FeatureName, FieldError>> = {};
    // Only what the model reads is asked, encrypted and sent; a party it reads nothing from sends nothing.
    const asked = askedFeatures(manifest);
    for (const party of askedParties(asked, MODE_PARTIES[this.formMode])) {
      const r = collectParty(asked, party, this.values);
      answers[party] = r.values;
      errors = { ...errors, ...r.errors };
    }
    // Answers valid one by one may still not fit together (years employed for the age, …).
    const all = { ...plausibilityErrors(Object.assign({}, ...Object.values(answers))), ...errors };
    // In form order, so focus goes to the first field to fix.
    errors = Object.fromEntries(asked.filter((f) => all[f.name]).map((f) => [f.name, all[f.name]]));
    this.fieldErrors = errors;
    this.invalidCount = Object.keys(errors).length;
    return this.invalidCount === 0 ? answers : null;
  }

  private showForm(focus: string): void {
    this.stage = SessionStage.Idle;
    this.failure = null;
    this.decision = null;
    this.pendingFocus = focus;
  }

  private fail(error: BlindScoreError): void {
    this.failure = error;
    this.stage = SessionStage.Failed;
    this.pendingFocus = '#error-title';
    this.announcement = '';
    emit(this, 'blind-score:error', { code: error.code, message: error.message, retriable: error.retriable });
  }

  private async check(answers: Answers, resume?: SessionHandle): Promise<void> {
    const manifest = this.manifest!;
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    // Resuming needs the keys that session was made with; any other check starts afresh.
    if (!resume || !this.keys) this.dropResumable();
    const resuming = resume !== undefined && this.keys !== undefined;
    this.resumable = resuming ? resume : undefined;
    this.lastAnswers = answers;
    this.failure = null;
    this.decision = null;
    this.steps = initialSteps();
    this.stage = SessionStage.Keygen;
    this.pendingFocus = '#progress-title';
    try {
      const decision = await runCheck({
        client: this.client(),
        crypto: this.crypto,
        manifest,
        answers,
        cacheName: this.cacheName,
        keys: this.keys,
        signal: abort.signal,
        onProgress: (d) => !abort.signal.aborted && this.handleProgress(d),
        onKeys: (keys) => (this.keys = keys),
        onSession: (d) => emit(this, 'blind-score:session', d),
        resume: this.resumable,
        onUploaded: (session) => (this.resumable = session),
      });
      if (abort.signal.aborted) return;
      this.decision = decision;
      const employed = answers.bureau?.['employed'];
      this.decidedEmployment = typeof employed === 'boolean' ? employed : undefined;
      this.stage = SessionStage.Done;
      this.lastAnswers = undefined;
      this.resumable = undefined;
      this.pendingFocus = '[part~="result"]';
      this.announcement = this.t('resultReady', { title: this.t(decision.approved ? 'approvedTitle' : 'deniedTitle') });
      emit(this, 'blind-score:decision', decision);
    } catch (e) {
      if (abort.signal.aborted) return;
      const error = toBlindScoreError(e);
      // A worker that failed lost its key; a retry must make new keys.
      if (error.code === 'worker_crashed' || error.code === 'cancelled') {
        this.keys = undefined;
        this.preparing = undefined;
      }
      // The check deleted its session unless the failure was retriable after every upload.
      if (!error.retriable || !this.keys) this.resumable = undefined;
      this.fail(error);
    }
  }

  // ---------------------------------------------------------------------------------------------

  override render(): TemplateResult {
    const demo = this.formMode === 'demo';
    return html`<div part="base" class="base">
      <header part="header" class="header">
        <h2 part="title">${this.t('title')}</h2>
        <p part="intro" class="intro">${this.t('intro')}</p>
        ${demo ? html`<p part="intro" class="note">${this.t('demoNote')}</p>` : nothing}
      </header>
      ${this.renderBody()}
      <div class="visually-hidden" role="status" aria-live="polite" aria-atomic="true">${this.announcement}</div>
    </div>`;
  }

  private renderBody(): TemplateResult | typeof nothing {
    if (this.failure) {
      const canEdit = this.manifest !== undefined;
      return renderError(this.errorContext(), this.failure, this.handleRetry, canEdit ? this.handleEdit : null);
    }
    const manifest = this.manifest;
    if (!manifest) {
      return html`<p part="loading" class="note" role="status">${this.t('loadingModel')}</p>`;
    }
    const c = this.renderContext(manifest);
    if (this.stage === SessionStage.Done && this.decision) {
      return renderResult(c, this.decision, this.handleReset, {
        assumed: (manifest.explanation.assume ?? []).some((a) => a.input === 'employed' && a.code === 1),
        employed: this.decidedEmployment,
      });
    }
    if (this.isRunning) {
      const shown = PROGRESS_STAGES.filter((s) => this.formMode === 'applicant' || s !== SessionStage.WaitingForParties);
      return renderProgress(c, this.steps, shown as ProgressStage[], currentLocale(), this.handleCancel);
    }
    const asked = askedFeatures(manifest);
    return renderForm(c, {
      features: asked,
      parties: askedParties(asked, MODE_PARTIES[this.formMode]),
      demo: this.formMode === 'demo',
      values: this.values,
      errors: this.fieldErrors,
      invalidCount: this.invalidCount,
      onInput: this.handleInput,
      onSubmit: this.handleSubmit,
      onFocus: this.handleFormFocus,
    });
  }

  /** Error messages need no manifest: only widget strings. */
  private errorContext(): RenderContext {
    return this.manifest ? this.renderContext(this.manifest) : ({ t: this.t } as RenderContext);
  }

  /** The applicant-facing text of the current error, if any (for hosts that render their own). */
  get errorText(): string | null {
    return this.failure ? this.t(errorMessageId(this.failure.code)) : null;
  }
}
