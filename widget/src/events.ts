/**
 * The element's events, each `detail` declared once and registered in
 * `GlobalEventHandlersEventMap`, so `el.addEventListener('blind-score:decision', e => e.detail…)`
 * is typed for hosts using TypeScript.
 */
import type { ProgressStage } from './session-stage.ts';

/**
 * `prepare`: work the answers do not depend on (keys, session, key uploads), done ahead of the
 * click when the `prepare` mode allows it. `check`: the check itself, after submit.
 */
export type ProgressPhase = 'prepare' | 'check';

/** Preparation stages, in order, as `blind-score:prepared` and the benchmark name them. */
export type PreparationStage = 'keygen' | 'session' | 'publicKey' | 'serverKey' | 'expanded';

/** Why a preparation waits for submit although the `prepare` mode would start it earlier. */
export type PreparationDeferral = 'save-data';

export interface BlindScoreProgressDetail {
  phase: ProgressPhase;
  stage: ProgressStage;
  /** 0–1 within the stage, or `null` when the stage cannot measure itself (key generation). */
  fraction: number | null;
  /** Upload stages: bytes sent so far and in all. */
  bytesSent?: number;
  bytesTotal?: number;
  /** Running: runs ahead of this one while queued. */
  queuePosition?: number;
  /** Set when preparation waits for submit instead of starting now (the browser's data saver). */
  deferred?: PreparationDeferral;
}

/** A progress report as a flow makes it; the element adds the phase. */
export type StageProgress = Omit<BlindScoreProgressDetail, 'phase'>;

/** Fired as each preparation stage finishes, so a host (or a benchmark) knows what is ready. */
export interface BlindScorePreparedDetail {
  stage: PreparationStage;
  /** The stages finished so far, this one included. */
  done: PreparationStage[];
  sessionId?: string;
}

export interface BlindScoreDecisionDetail {
  decision: 'approved' | 'denied';
  approved: boolean;
  explanation: {
    /** The smallest years-employed bin that would likely be approved, when denied; else `null`. */
    minYearsEmployedBin: string | null;
    /** That bin's lower bound in years. */
    minYearsEmployed: number | null;
    /**
     * The first longer bin that is denied again after the approved ones, or `null` when every
     * longer bin is approved too (only then is "at least `minYearsEmployed` years" true).
     */
    untilYearsEmployedBin: string | null;
    /** That bin's lower bound in years: approval holds from `minYearsEmployed` up to this. */
    untilYearsEmployed: number | null;
    /** Each bin's decrypted bit, in the result's order. */
    bins: { bin: string; approved: boolean }[];
  };
  modelVersion: string;
}

export interface BlindScoreErrorDetail {
  code: string;
  message: string;
  retriable: boolean;
}

/** Fired once a session exists, so an applicant-mode host can tell its backends to upload. */
export interface BlindScoreSessionDetail {
  sessionId: string;
  /** Parties whose inputs the session still needs from their backends. */
  missingParties: string[];
}

/** The form is shown again (after a check, a result or an error): what the host showed beside a result is stale. */
export interface BlindScoreFormDetail {
  /** `false` after "Start over" (the starting answers), else the applicant's answers are kept. */
  answersKept: boolean;
}

export interface BlindScoreEventMap {
  'blind-score:form': CustomEvent<BlindScoreFormDetail>;
  'blind-score:progress': CustomEvent<BlindScoreProgressDetail>;
  'blind-score:decision': CustomEvent<BlindScoreDecisionDetail>;
  'blind-score:error': CustomEvent<BlindScoreErrorDetail>;
  'blind-score:session': CustomEvent<BlindScoreSessionDetail>;
  'blind-score:prepared': CustomEvent<BlindScorePreparedDetail>;
}

type DetailOf<K extends keyof BlindScoreEventMap> = BlindScoreEventMap[K] extends CustomEvent<infer D> ? D : never;

/**
 * Whether the page's own scripts have all run: parsing is over and `DOMContentLoaded` has been
 * dispatched (deferred and module scripts run before it, in document order).
 */
function pageScriptsRan(): boolean {
  if (typeof document === 'undefined' || document.readyState === 'complete') return true;
  if (document.readyState === 'loading') return false;
  const navigation = performance.getEntriesByType?.('navigation')[0] as PerformanceNavigationTiming | undefined;
  return navigation === undefined || navigation.domContentLoadedEventEnd > 0;
}

/** Events held until the page's scripts have run, in order (`null` once they have). */
let held: (() => void)[] | null = pageScriptsRan() ? null : [];
if (held) {
  // A task after DOMContentLoaded: listeners added in a DOMContentLoaded handler are in place too.
  document.addEventListener(
    'DOMContentLoaded',
    () =>
      setTimeout(() => {
        const queue = held ?? [];
        held = null;
        for (const dispatch of queue) dispatch();
      }),
    { once: true },
  );
}

/**
 * Dispatches one of the element's events; they bubble and cross the shadow boundary. While the
 * page is still loading its scripts, events wait (in order) until a task after
 * `DOMContentLoaded`, so a listener added by any script of the page, before or after the
 * element's own, sees every event, an error found at load included.
 */
export function emit<K extends keyof BlindScoreEventMap>(target: EventTarget, name: K, detail: DetailOf<K>): void {
  const dispatch = () => target.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  if (held) held.push(dispatch);
  else dispatch();
}

declare global {
  interface GlobalEventHandlersEventMap extends BlindScoreEventMap {}
}
