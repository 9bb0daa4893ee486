import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { updateWhenLocaleChanges } from '@lit/localize';
import type { Party, PartyInputs } from '../../protocol/ciphertexts.ts';
import type { CreditFeatures, FeatureName } from '../../model/features.ts';
import { Appearance, applyAppearance } from './appearance.ts';
import { currencySymbol, fieldCurrencies, mergeLabels, withCurrency, type LabelOverrides } from './form/labels.ts';
import { parseManifest, type Manifest } from '../../model/manifest.ts';
import { GatewayClient, type SessionHandle } from './api/gateway-client.ts';
import { styles } from './blind-score.styles.ts';
import { CryptoWorkerController } from './crypto/crypto-worker-controller.ts';
import { keyCacheName } from './crypto/key-cache.ts';
import type { KeygenResult } from './crypto/worker-protocol.ts';
import { DevWarning, isSecureGatewayUrl, warnOnce } from './dev-warnings.ts';
import { BlindScoreError, toBlindScoreError } from './errors.ts';
import {
  emit,
  type BlindScoreDecisionDetail,
  type PreparationDeferral,
  type PreparationStage,
  type ProgressPhase,
  type StageProgress,
} from './events.ts';
import { prepareSession, watchKeyExpansion, type PreparedSession } from './flow/prepare-session.ts';
import { uploadPartyInputs } from './flow/party-uploads.ts';
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

/**
 * When the element prepares a check (keys, session, key uploads) ahead of the click:
 * `interaction` when the applicant first focuses or types in the form, `visible` when the element
 * scrolls into view, `submit` only when the applicant asks for a check.
 */
export type PrepareMode = 'interaction' | 'visible' | 'submit';
const PREPARE_MODES: readonly PrepareMode[] = ['interaction', 'visible', 'submit'];

/** How long applicant mode waits for the bank's and the bureau's backends by default, in seconds. */
const DEFAULT_PARTIES_TIMEOUT_SECONDS = 60;

/** Failures after which the session cannot serve another run: the next check prepares a new one. */
const SESSION_GONE = new Set(['session_expired', 'session_deleted', 'session_not_found', 'invalid_token', 'run_limit_reached']);

/** A preparation under way: its promise, how to stop it, and what it has done so far. */
interface Preparation {
  promise: Promise<PreparedSession>;
  abort: AbortController;
  /** The session once created (to delete when the preparation is cancelled or fails). */
  session?: SessionHandle;
  done: PreparationStage[];
  /** The latest progress report, replayed into the progress view when a check waits for it. */
  last?: StageProgress;
}

/** Manifests already checked by `parseManifest` (fetched, or set by the host and checked once). */
const checkedManifests = new WeakSet<Manifest>();

/** The features each mode's form asks for. */
const MODE_PARTIES: Record<BlindScoreMode, readonly Party[]> = {
  applicant: ['applicant'],
  demo: ['applicant', 'bank', 'bureau'],
};

/**
 * Demo mode: the panels uploaded before the click. They stand in for the bank's and the bureau's
 * backends, which upload as soon as the session exists; the applicant's answers leave the page
 * only when the applicant asks for a check.
 */
const AHEAD_PARTIES: readonly Party[] = ['bank', 'bureau'];

/** At most one re-render of the running view per this many ms for a step's own progress. */
const PROGRESS_RENDER_MS = 100;

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
 * @csspart change - The change-my-answers button (check again on the same session).
 * @csspart progress-note - A note in the running view (e.g. data saver on).
 * @csspart error - The error view.
 * @csspart error-message - The error's explanation.
 * @csspart error-code - The error's code.
 * @csspart retry - The retry button.
 * @csspart edit - The edit-answers button.
 * @csspart loading - Shown while the manifest loads.
 *
 * @cssproperty --blind-score-accent - Buttons, focus and progress colour.
 * @cssproperty --blind-score-accent-hover - Primary button hover colour (default: the accent moved toward the text colour).
 * @cssproperty --blind-score-accent-contrast - Text on the accent colour (default: black or white, whichever contrasts more).
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
 * @event blind-score:progress - `{ phase, stage, fraction, bytesSent?, bytesTotal?, queuePosition?, deferred? }` while preparing (`phase: 'prepare'`) and during a check (`'check'`).
 * @event blind-score:prepared - `{ stage, done, sessionId? }` as each preparation stage finishes.
 * @event blind-score:decision - `{ decision, approved, explanation, modelVersion }` once decrypted.
 * @event blind-score:error - `{ code, message, retriable }` when a check or the manifest fails.
 * @event blind-score:session - `{ sessionId, missingParties }` once the gateway session exists.
 * @event blind-score:form - `{ answersKept }` when the form is shown again after a check, a result or an error (Change my answers, Edit answers, Cancel: kept; Start over: not).
 */
export class BlindScore extends LitElement {
  static override styles = styles;

  static override properties = {
    gatewayUrl: { type: String, attribute: 'gateway-url' },
    publishableKey: { type: String, attribute: 'publishable-key' },
    mode: { type: String, reflect: true },
    locale: { type: String },
    cacheKeys: { type: Boolean, attribute: 'cache-keys' },
    prepare: { type: String },
    partiesTimeout: { type: Number, attribute: 'parties-timeout' },
    currency: { type: String },
    strings: { attribute: false },
    defaults: { attribute: false },
    manifest: { attribute: false },
    labels: { attribute: false },
    appearance: { attribute: false },
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

  declare private stage: SessionStage;
  declare private steps: Steps;
  declare private values: RawValues;
  declare private fieldErrors: Partial<Record<FeatureName, FieldError>>;
  declare private invalidCount: number;
  declare private decision: BlindScoreDecisionDetail | null;
  declare private failure: BlindScoreError | null;
  declare private announcement: string;

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
  /** When to prepare a check ahead of the click: `interaction` (default), `visible` or `submit`. */
  declare prepare: PrepareMode;
  /**
   * Applicant mode: seconds to wait for the bank's and the bureau's backends to upload their part
   * (`parties-timeout`, default 60), then the retriable error `parties_timeout`.
   */
  declare partiesTimeout: number;
  /**
   * The ISO 4217 code of the bank's currency (`GBP`, `EUR`, …): money fields say it ("Yearly
   * income (£)"). Overrides the currency the manifest gives each money feature; unset, the
   * manifest's is shown.
   */
  declare currency: string | undefined;
  /** Overrides of any visible string, by id (see `translations/en.ts`). */
  declare strings: Partial<Translation> | undefined;
  /** Starting answers, e.g. values the bank already knows. */
  declare defaults: Partial<CreditFeatures> | undefined;
  /** The model manifest; fetched from the gateway when not set. */
  declare manifest: Manifest | undefined;
  /** Overrides of the manifest's form texts (labels, help, option names, panel headings). */
  declare labels: LabelOverrides | undefined;
  /**
   * A brand in one object: `theme` (`default`, which follows the system's dark mode, `night`,
   * `flat`), `variables` (the `--blind-score-*` properties by camelCase name) and `rules` (CSS
   * declarations per part). See `appearance.ts`.
   */
  declare appearance: Appearance | undefined;
  private appliedAppearance: { appearance: Appearance | undefined; sheet: CSSStyleSheet | undefined } = {
    appearance: undefined,
    sheet: undefined,
  };

  private abort: AbortController | undefined;
  private manifestRequest: Promise<void> | undefined;
  private keys: KeygenResult | undefined;
  private pendingFocus: string | undefined;
  private lastAnswers: Answers | undefined;
  /** The applicant's employment as this page answered it (demo mode), for the explanation's wording. */
  private decidedEmployment: boolean | undefined;
  /** A check failed retriably after its inputs were accepted: "Try again" only re-runs it. */
  private rerunOnly = false;
  private warming: Promise<void> | undefined;
  private preparation: Preparation | undefined;
  /** The session prepared for checks: keys uploaded; serves every check until it ends. */
  private prepared: PreparedSession | undefined;
  /** Why preparation waits for submit, once the mode would have started it. */
  private deferral: PreparationDeferral | undefined;
  /** The applicant or host cancelled a preparation: no automatic one until the next check. */
  private autoPrepareOff = false;
  /** A trigger fired before the manifest arrived: prepare once it does. */
  private preparePending = false;
  private visibility: IntersectionObserver | undefined;
  /**
   * Each party's answers encrypted in the worker while the applicant types (once keys exist),
   * so the click only uploads them. Valid for exactly these answers under exactly these keys.
   */
  private encryptedAhead = new Map<Party, { keys: KeygenResult; answers: string; inputs: Promise<PartyInputs> }>();
  private encryptAheadTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Demo mode's uploads ahead of the click to the prepared session: stopped with it, and each
   * party's answers tried once (a failed one is sent by the check).
   */
  private ahead: { prepared: PreparedSession; abort: AbortController; tried: Map<Party, string> } | undefined;
  /** A step's latest progress not rendered yet (see {@link PROGRESS_RENDER_MS}). */
  private heldProgress: { detail: StageProgress; timer: ReturnType<typeof setTimeout> } | undefined;
  private lastProgressRender = 0;
  /** Follows the evaluator's expansion of the prepared key (for `blind-score:prepared`). */
  private expansionWatch: AbortController | undefined;

  constructor() {
    super();
    updateWhenLocaleChanges(this);
    this.gatewayUrl = '';
    this.publishableKey = '';
    this.mode = 'applicant';
    this.cacheKeys = false;
    this.prepare = 'interaction';
    this.partiesTimeout = DEFAULT_PARTIES_TIMEOUT_SECONDS;
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
    this.observeVisibility();
    window.addEventListener('pagehide', this.handlePageHide);
  }

  /**
   * The applicant leaves the page (no `disconnectedCallback` then): forget the session at the
   * gateway now (a `keepalive` DELETE outlives the page) rather than at its TTL.
   */
  private handlePageHide = (): void => {
    this.stopPreparation();
    this.dropPrepared();
  };

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('pagehide', this.handlePageHide);
    this.abort?.abort();
    this.visibility?.disconnect();
    this.visibility = undefined;
    clearTimeout(this.encryptAheadTimer);
    this.dropHeldProgress();
    // The controller stops the worker: its key and its loaded wasm go with it.
    this.keys = undefined;
    this.stopPreparation();
    this.dropPrepared();
    this.warming = undefined;
  }

  /** `visible` mode: prepare once any part of the element is on screen. */
  private observeVisibility(): void {
    if (this.visibility || typeof IntersectionObserver === 'undefined') return;
    this.visibility = new IntersectionObserver((entries) => {
      if (!entries.some((e) => e.isIntersecting)) return;
      this.visibility?.disconnect();
      this.visibility = undefined;
      this.trigger('visible');
    });
    this.visibility.observe(this);
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
    if (changed.has('appearance')) this.applyAppearance();
    if (changed.has('currency') && this.currency && currencySymbol(this.currency, 'en') === null) {
      warnOnce(DevWarning.UnknownCurrency, `currency must be an ISO 4217 code such as "EUR", got "${this.currency}"; no currency is shown`);
    }
    if ((changed.has('currency') || changed.has('manifest')) && this.currency && this.manifest) {
      const schema = new Set(Object.values(fieldCurrencies(this.manifest.features, undefined)));
      if (schema.size > 0 && !schema.has(this.currency)) {
        warnOnce(
          DevWarning.CurrencyOverride,
          `currency="${this.currency}" relabels amounts the model's manifest gives in ${[...schema].join(', ')}; the model's thresholds stay in those`,
        );
      }
    }
    if (changed.has('prepare') && !PREPARE_MODES.includes(this.prepare)) {
      warnOnce(
        DevWarning.UnknownPrepare,
        `prepare must be "interaction", "visible" or "submit", got "${String(this.prepare)}"; using "interaction"`,
      );
    }
  }

  /** The tenant's appearance (`GET /v1/appearance`), used while the page sets none. */
  private tenantAppearance: Appearance | undefined;

  private applyAppearance(): void {
    const parsed = Appearance.safeParse(this.appearance ?? this.tenantAppearance ?? {});
    if (!parsed.success) {
      warnOnce(
        DevWarning.InvalidAppearance,
        `appearance ignored: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    const appearance = parsed.success ? parsed.data : undefined;
    const sheet = applyAppearance(this, this.renderRoot as ShadowRoot, appearance, this.appliedAppearance);
    this.appliedAppearance = { appearance, sheet };
  }

  private get partiesTimeoutMs(): number {
    const seconds = Number(this.partiesTimeout);
    return (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_PARTIES_TIMEOUT_SECONDS) * 1000;
  }

  private get prepareMode(): PrepareMode {
    return PREPARE_MODES.includes(this.prepare) ? this.prepare : 'interaction';
  }

  protected override updated(): void {
    if (!this.manifest && !this.failure && this.gatewayUrl && this.publishableKey && !this.manifestRequest) {
      this.manifestRequest = this.loadManifest().finally(() => (this.manifestRequest = undefined));
    }
    if (this.preparePending && this.manifest) {
      this.preparePending = false;
      if (!this.autoPrepareOff) this.startPreparation().catch(() => undefined);
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
      const client = this.client();
      // The tenant's brand, when the page sets none; a form without it is still a form.
      if (this.appearance === undefined) {
        client.appearance().then(
          (appearance) => {
            this.tenantAppearance = appearance ?? undefined;
            if (this.appearance === undefined) this.applyAppearance();
          },
          () => undefined,
        );
      }
      const manifest = await client.manifest(parseManifest);
      checkedManifests.add(manifest);
      this.manifest = manifest;
    } catch (e) {
      this.fail(toBlindScoreError(e));
    }
  }

  private t = (id: MessageId, values?: Record<string, string | number>): string => translate(id, this.strings, values);

  private renderContext(manifest: Manifest): RenderContext {
    const locale = currentLocale();
    const texts = mergeLabels(manifest.labels[locale] ?? manifest.labels.en!, this.labels);
    return { t: this.t, texts: withCurrency(texts, fieldCurrencies(manifest.features, this.currency), locale) };
  }

  // ---------------------------------------------------------------------------------------------
  // Handlers

  private handleInput = (name: FeatureName, value: RawValue): void => {
    this.values = { ...this.values, [name]: value };
    this.editedValues = { ...this.editedValues, [name]: value };
    if (this.invalidCount > 0) this.validate();
    this.trigger('interaction');
    this.scheduleEncryptAhead();
  };

  /** The applicant reached the form: prepare while they answer (or at least load the wasm). */
  private handleFormFocus = (): void => {
    this.trigger('interaction');
    if (!this.preparation && !this.prepared && !this.deferral) void this.warm();
  };

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
    if (this.lastAnswers) void this.check(this.rerunOnly ? null : this.lastAnswers);
    else this.reset();
  };

  private handleEdit = (): void => this.showForm(`#${fieldId(this.firstField)}`);

  /** The first field the form asks for. */
  private get firstField(): string {
    return this.manifest ? (askedFeatures(this.manifest)[0]?.name ?? '') : '';
  }

  /** From a result: back to the form with the answers kept; the next check reuses the session. */
  private handleChange = (): void => this.handleEdit();

  private handleReset = (): void => this.reset();

  /**
   * A progress report: always an event for the host; shown in the running view only during a
   * check (a preparation while the applicant types stays silent: no re-render for it).
   */
  private handleProgress(phase: ProgressPhase, stageProgress: StageProgress): void {
    const detail = { phase, ...stageProgress };
    emit(this, 'blind-score:progress', detail);
    if (!this.isRunning) return;
    // A run reports ~50 fractions a second: the step already shown active re-renders at most
    // every PROGRESS_RENDER_MS (its latest report last); a new step or a finished one at once.
    const wait = this.lastProgressRender + PROGRESS_RENDER_MS - performance.now();
    const sameStep =
      stageProgress.fraction !== 1 && this.stage === stageProgress.stage && this.steps[stageProgress.stage].status === 'active';
    if (sameStep && wait > 0) {
      const timer = this.heldProgress?.timer ?? setTimeout(() => this.showHeldProgress(), wait);
      this.heldProgress = { detail: stageProgress, timer };
      return;
    }
    this.showProgress(stageProgress);
  }

  private showHeldProgress(): void {
    const held = this.heldProgress;
    this.heldProgress = undefined;
    if (held && this.isRunning && this.stage === held.detail.stage) this.showProgress(held.detail);
  }

  private dropHeldProgress(): void {
    clearTimeout(this.heldProgress?.timer);
    this.heldProgress = undefined;
  }

  private showProgress(detail: StageProgress): void {
    // Whatever was held is older than this report.
    this.dropHeldProgress();
    this.lastProgressRender = performance.now();
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
    // A preparation (silent, or the one a check waits for) stops too, and its session is deleted.
    const preparing = this.preparation !== undefined;
    if (preparing) {
      this.autoPrepareOff = true;
      this.stopPreparation();
    }
    if (!this.isRunning) return;
    // The worker keeps its keys: an encryption or decryption under way takes a moment, its answer
    // is dropped, and the prepared session (made with these keys) serves the next check. (A key
    // generation, one long wasm call, was stopped with the preparation above.)
    this.abort?.abort();
    this.showForm('[part~="submit"]');
    this.announcement = this.t('cancelled');
  }

  /** Back to a fresh form with the starting answers. */
  reset(): void {
    if (this.isRunning) this.cancel();
    this.editedValues = {};
    if (this.manifest) this.values = initialValues(askedFeatures(this.manifest), this.formMode, this.defaults);
    this.showForm(`#${fieldId(this.firstField)}`, false);
    // The starting answers, encrypted (and in demo mode the panels uploaded) ahead like typed ones.
    this.scheduleEncryptAhead();
  }

  /** Whether every field is valid; shows the messages when not. */
  checkValidity(): boolean {
    return this.validate() !== null;
  }

  /**
   * Prepares a check now, whatever the `prepare` mode and the data saver say: keys, session,
   * key uploads. Silent; `blind-score:progress` (`phase: 'prepare'`) and `blind-score:prepared`
   * report it, `cancel()` stops it. Resolves once prepared; never rejects (a check reports
   * failures, and prepares again).
   */
  prepareNow(): Promise<void> {
    this.autoPrepareOff = false;
    if (!this.manifest) {
      this.preparePending = true;
      return Promise.resolve();
    }
    return this.startPreparation().then(
      () => undefined,
      () => undefined,
    );
  }

  /** Forgets the keys (in the worker and, with `cache-keys`, in IndexedDB) and the session made with them. */
  async forgetKeys(): Promise<void> {
    this.stopPreparation();
    this.dropPrepared();
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

  /** Loads the worker and tfhe's wasm only (the `submit` mode's head start). Never rejects. */
  private warm(): Promise<void> {
    this.warming ??= this.crypto.request({ type: 'warm' }).then(
      () => undefined,
      () => {
        this.warming = undefined;
      },
    );
    return this.warming;
  }

  /** A moment the `prepare` mode may start preparing at. */
  private trigger(moment: 'interaction' | 'visible'): void {
    if (this.prepareMode !== moment || this.autoPrepareOff || this.preparation || this.prepared || this.isRunning) return;
    // Without a gateway there is nothing to prepare; the check itself reports `not_configured`.
    if (!this.gatewayUrl || !this.publishableKey) return;
    if (saveDataOn()) {
      if (!this.deferral) {
        this.deferral = 'save-data';
        emit(this, 'blind-score:progress', { phase: 'prepare', stage: SessionStage.Keygen, fraction: 0, deferred: 'save-data' });
      }
      return;
    }
    if (!this.manifest) {
      this.preparePending = true;
      return;
    }
    this.startPreparation().catch(() => undefined);
  }

  /** Starts a preparation, or returns the one under way or done. */
  private startPreparation(): Promise<PreparedSession> {
    if (this.prepared) return Promise.resolve(this.prepared);
    if (this.preparation) return this.preparation.promise;
    const manifest = this.manifest!;
    const abort = new AbortController();
    const client = this.client();
    const prep: Preparation = { abort, done: [], promise: undefined as unknown as Promise<PreparedSession> };
    prep.promise = prepareSession({
      client,
      crypto: this.crypto,
      manifest,
      cacheName: this.cacheName,
      keys: this.keys,
      signal: abort.signal,
      onProgress: (d) => {
        if (abort.signal.aborted) return;
        prep.last = d;
        this.handleProgress('prepare', d);
      },
      onStageDone: (stage) => {
        if (abort.signal.aborted) return;
        prep.done.push(stage);
        emit(this, 'blind-score:prepared', { stage, done: [...prep.done], ...(prep.session ? { sessionId: prep.session.sessionId } : {}) });
      },
      onKeys: (keys) => {
        this.keys = keys;
        this.scheduleEncryptAhead();
      },
      onSession: (session, detail) => {
        prep.session = session;
        if (!abort.signal.aborted) emit(this, 'blind-score:session', detail);
      },
    }).then(
      (prepared) => {
        if (this.preparation === prep) this.preparation = undefined;
        if (abort.signal.aborted) {
          this.forgetSession(prepared.session, client);
          throw new BlindScoreError('cancelled', 'cancelled');
        }
        this.prepared = prepared;
        this.watchExpansion(client, prepared, prep);
        this.uploadAhead();
        return prepared;
      },
      (e: unknown) => {
        if (this.preparation === prep) this.preparation = undefined;
        // A half-prepared session is of no use to anyone: forget its keys now, not at the TTL
        // (a cancelled one was deleted by the cancel).
        if (prep.session && !abort.signal.aborted) this.forgetSession(prep.session, client);
        const error = toBlindScoreError(e);
        if (error.code === 'worker_crashed' || error.code === 'cancelled') this.keys = undefined;
        throw error;
      },
    );
    this.preparation = prep;
    return prep.promise;
  }

  /** Encrypts the answers ahead a moment after the applicant stops typing. */
  private scheduleEncryptAhead(): void {
    clearTimeout(this.encryptAheadTimer);
    this.encryptAheadTimer = setTimeout(() => this.encryptAhead(), 300);
  }

  /**
   * Asks the worker (off the page's thread) to encrypt each party whose answers are complete and
   * valid and changed since their last encryption. Nothing leaves the page until the click.
   */
  private encryptAhead(): void {
    const manifest = this.manifest;
    const keys = this.keys;
    if (!manifest || !keys || this.isRunning) return;
    // Exactly what a check would send (`validate`): the asked features of the asked parties.
    const asked = askedFeatures(manifest);
    for (const party of askedParties(asked, MODE_PARTIES[this.formMode])) {
      const r = collectParty(asked, party, this.values);
      if (Object.keys(r.errors).length > 0) continue;
      const answers = JSON.stringify(r.values);
      const have = this.encryptedAhead.get(party);
      if (have && have.keys === keys && have.answers === answers) continue;
      const inputs = this.crypto.request({
        type: 'encrypt',
        modelVersion: manifest.modelVersion,
        party,
        inputs: manifest.inputs,
        features: r.values,
      });
      const entry = { keys, answers, inputs };
      // A failed encryption ahead is only a missed head start: the check encrypts again.
      inputs.catch(() => {
        if (this.encryptedAhead.get(party) === entry) this.encryptedAhead.delete(party);
      });
      this.encryptedAhead.set(party, entry);
    }
    this.uploadAhead();
  }

  /**
   * Demo mode: once the session is prepared, uploads the bank's and the bureau's answers that are
   * complete, plausible and encrypted ahead, so the click sends only the applicant's (and a panel
   * changed since). Silent: a failed upload is a missed head start, the check sends that party
   * again. None while a check runs (a run in flight refuses inputs), none where preparation waits
   * for the click (`prepare="submit"`, data saver).
   */
  private uploadAhead(): void {
    const prepared = this.prepared;
    const manifest = this.manifest;
    if (!prepared || !manifest || this.formMode !== 'demo' || this.isRunning) return;
    if (this.prepareMode === 'submit' || saveDataOn() || !this.gatewayUrl || !this.publishableKey) return;
    if (this.ahead?.prepared !== prepared) {
      this.ahead?.abort.abort();
      this.ahead = { prepared, abort: new AbortController(), tried: new Map() };
    }
    const ahead = this.ahead;
    const asked = askedFeatures(manifest);
    const collected = askedParties(asked, MODE_PARTIES.demo).map((party) => ({ party, ...collectParty(asked, party, this.values) }));
    // Answers that do not fit together (an account older than its holder) wait for the click's message.
    const implausible = plausibilityErrors(Object.assign({}, ...collected.map((c) => c.values)));
    const client = this.client();
    for (const { party, values, errors } of collected) {
      if (!AHEAD_PARTIES.includes(party) || Object.keys(errors).length > 0) continue;
      if (asked.some((f) => f.party === party && implausible[f.name])) continue;
      const answers = JSON.stringify(values);
      const encrypted = this.encryptedAhead.get(party);
      if (!encrypted || encrypted.keys !== prepared.keys || encrypted.answers !== answers) continue;
      if (prepared.uploaded.get(party) === answers || ahead.tried.get(party) === answers) continue;
      ahead.tried.set(party, answers);
      uploadPartyInputs(client, prepared, party, answers, encrypted.inputs, ahead.abort.signal).catch(() => undefined);
    }
  }

  /** The ciphertexts made ahead for exactly `features` under the current keys, if any. */
  private takeEncryptedAhead(party: Party, features: Record<string, boolean | number | string>): Promise<PartyInputs> | undefined {
    const have = this.encryptedAhead.get(party);
    if (!have || have.keys !== this.keys || have.answers !== JSON.stringify(features)) return undefined;
    return have.inputs;
  }

  /** Reports (`blind-score:prepared`, stage `expanded`) once the evaluator holds the key expanded. */
  private watchExpansion(client: GatewayClient, prepared: PreparedSession, prep: Preparation): void {
    const stop = new AbortController();
    this.expansionWatch?.abort();
    this.expansionWatch = stop;
    watchKeyExpansion(client, prepared, stop.signal)
      .then(
        (state) => {
          if (state !== 'ready' || this.prepared !== prepared) return;
          prep.done.push('expanded');
          emit(this, 'blind-score:prepared', { stage: 'expanded', done: [...prep.done], sessionId: prepared.session.sessionId });
        },
        () => undefined,
      )
      .finally(() => {
        if (this.expansionWatch === stop) this.expansionWatch = undefined;
      });
  }

  /** Stops the preparation under way: its session is deleted, a key generation in the worker stopped. */
  private stopPreparation(): void {
    const prep = this.preparation;
    if (!prep) return;
    this.preparation = undefined;
    prep.abort.abort();
    // Key generation is one long wasm call: only stopping the worker stops it.
    if (!prep.done.includes('keygen')) this.stopWorker();
    if (prep.session && this.gatewayUrl && this.publishableKey) this.forgetSession(prep.session, this.client());
  }

  private stopWorker(): void {
    this.crypto.cancel();
    this.encryptedAhead.clear();
    this.keys = undefined;
    this.warming = undefined;
    // A session prepared with the keys just lost cannot be checked on again.
    this.dropPrepared();
  }

  /** Forgets the prepared session (its keys and answers) at the gateway now rather than at its TTL. */
  private dropPrepared(): void {
    this.expansionWatch?.abort();
    this.ahead?.abort.abort();
    this.ahead = undefined;
    const prepared = this.prepared;
    this.prepared = undefined;
    this.rerunOnly = false;
    if (!prepared || !this.gatewayUrl || !this.publishableKey) return;
    this.forgetSession(prepared.session, this.client());
  }

  /** Sessions this element asked the gateway to delete: each is deleted once, whoever asks again. */
  private readonly deletedSessions = new WeakSet<SessionHandle>();

  /** Deletes a session at the gateway (keys, ciphertexts, results), once. */
  private forgetSession(session: SessionHandle, client: GatewayClient): void {
    if (this.deletedSessions.has(session)) return;
    this.deletedSessions.add(session);
    client.deleteSession(session).catch(() => undefined);
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

  private showForm(focus: string, answersKept = true): void {
    // A host showing something beside the last result (an "apply now" box) takes it away now.
    if (this.stage !== SessionStage.Idle) emit(this, 'blind-score:form', { answersKept });
    this.stage = SessionStage.Idle;
    this.failure = null;
    this.decision = null;
    this.pendingFocus = focus;
  }

  private fail(error: BlindScoreError): void {
    if (error.code === 'origin_not_allowed') {
      const origin = location.origin;
      warnOnce(
        DevWarning.OriginNotAllowed,
        `the gateway refused this page's origin ${origin}: add "${origin}" to the tenant's allowedOrigins (locally: npm start -- --allow-origin ${origin})`,
      );
    }
    this.failure = error;
    this.stage = SessionStage.Failed;
    this.pendingFocus = '#error-title';
    this.announcement = '';
    emit(this, 'blind-score:error', { code: error.code, message: error.message, retriable: error.retriable });
  }

  /**
   * One check: waits for (or starts) the preparation, then encrypts `answers` and runs on the
   * prepared session. `null` answers re-run the inputs the session holds (after a retriable failure).
   */
  private async check(answers: Answers | null): Promise<void> {
    const manifest = this.manifest!;
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    this.autoPrepareOff = false;
    // The check's own progress stream says everything from here: one stream, not two.
    this.expansionWatch?.abort();
    if (answers) this.lastAnswers = answers;
    if (!this.prepared && !this.preparation && this.prepareMode !== 'submit' && saveDataOn()) this.deferral = 'save-data';
    this.failure = null;
    this.decision = null;
    this.steps = initialSteps();
    this.dropHeldProgress();
    this.stage = SessionStage.Keygen;
    this.pendingFocus = '#progress-title';
    const cancelled = () => new BlindScoreError('cancelled', 'cancelled');
    let uploaded = false;
    try {
      for (let attempt = 0; ; attempt++) {
        if (!this.prepared) this.replayPreparation();
        const prepared = this.prepared ?? (await untilAborted(this.startPreparation(), abort.signal, cancelled));
        if (abort.signal.aborted) throw cancelled();
        this.showProgress({ stage: SessionStage.Uploading, fraction: 1 });
        try {
          const decision = await runCheck({
            client: this.client(),
            crypto: this.crypto,
            manifest,
            prepared,
            answers: answers ?? null,
            signal: abort.signal,
            encrypted: (party, features) => this.takeEncryptedAhead(party, features),
            onProgress: (d) => !abort.signal.aborted && this.handleProgress('check', d),
            onUploaded: () => (uploaded = true),
            ...(this.formMode === 'applicant' ? { partiesTimeoutMs: this.partiesTimeoutMs } : {}),
          });
          if (abort.signal.aborted) return;
          prepared.decisions++;
          this.decision = decision;
          const employed = answers?.bureau?.['employed'];
          this.decidedEmployment = typeof employed === 'boolean' ? employed : undefined;
          this.stage = SessionStage.Done;
          this.lastAnswers = undefined;
          this.rerunOnly = false;
          this.pendingFocus = '[part~="result"]';
          this.announcement = this.resultAnnouncement(decision);
          emit(this, 'blind-score:decision', decision);
          return;
        } catch (e) {
          const error = toBlindScoreError(e);
          // A session kept from earlier checks ended (TTL, run cap): prepare a new one with the
          // same keys, once, and check again with the answers. A fresh session that ends is an error.
          const kept = prepared.decisions > 0 || error.code === 'run_limit_reached';
          if (attempt === 0 && answers && kept && SESSION_GONE.has(error.code) && !abort.signal.aborted) {
            this.dropPrepared();
            uploaded = false;
            continue;
          }
          throw e;
        }
      }
    } catch (e) {
      if (abort.signal.aborted) return;
      const error = toBlindScoreError(e);
      // A worker that failed lost its key; a retry must make new keys.
      if (error.code === 'worker_crashed' || error.code === 'cancelled') {
        this.keys = undefined;
        this.warming = undefined;
      }
      // A retriable failure after this check's inputs were accepted keeps the session: "Try
      // again" only re-runs. Any other failure ends it; the next check prepares a new one.
      this.rerunOnly = uploaded && error.retriable && this.prepared !== undefined;
      if (!error.retriable) this.dropPrepared();
      this.fail(error);
    }
  }

  /**
   * What the live region says of a result: the host's slotted content where it replaces ours
   * (`approved`/`denied`, and `explain` under a denial), else our title.
   */
  private resultAnnouncement(decision: BlindScoreDecisionDetail): string {
    const slotted = (name: string) =>
      [...this.children]
        .filter((c) => c.getAttribute('slot') === name)
        .map((c) => c.textContent ?? '')
        .join(' ')
        .replace(/\s+/g, ' ')
        .trim();
    const outcome = slotted(decision.decision);
    const explain = decision.approved ? '' : slotted('explain');
    const title = outcome || this.t(decision.approved ? 'approvedTitle' : 'deniedTitle');
    return this.t('resultReady', { title: explain ? `${title} ${explain}` : title });
  }

  /** Shows what a preparation the check waits for has done already. */
  private replayPreparation(): void {
    if (this.deferral === 'save-data' && !this.preparation) return;
    const last = this.preparation?.last;
    if (last) this.showProgress(last);
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
        employment: {
          assumed: (manifest.explanation.assume ?? []).some((a) => a.input === 'employed' && a.code === 1),
          employed: this.decidedEmployment,
        },
        onChange: this.prepared ? this.handleChange : undefined,
        showModelVersion: this.formMode === 'demo',
      });
    }
    if (this.isRunning) {
      const shown = PROGRESS_STAGES.filter((s) => this.formMode === 'applicant' || s !== SessionStage.WaitingForParties);
      const note =
        this.deferral === 'save-data'
          ? this.t('saveDataDeferred')
          : this.stage === SessionStage.WaitingForParties
            ? this.t('waitingForParties', { seconds: Math.round(this.partiesTimeoutMs / 1000) })
            : undefined;
      return renderProgress(c, this.steps, shown as ProgressStage[], currentLocale(), this.handleCancel, note);
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
    return this.failure ? this.t(errorMessageId(this.failure.code), { origin: location.origin }) : null;
  }
}

/** The browser's data saver (`navigator.connection.saveData`, Chromium): prepare only at submit. */
function saveDataOn(): boolean {
  const connection = (navigator as Navigator & { connection?: { saveData?: boolean } }).connection;
  return connection?.saveData === true;
}

/** `promise`, or a rejection with `reason()` as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, reason: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(reason());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
