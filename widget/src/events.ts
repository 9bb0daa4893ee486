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

export interface BlindScoreEventMap {
  'blind-score:progress': CustomEvent<BlindScoreProgressDetail>;
  'blind-score:decision': CustomEvent<BlindScoreDecisionDetail>;
  'blind-score:error': CustomEvent<BlindScoreErrorDetail>;
  'blind-score:session': CustomEvent<BlindScoreSessionDetail>;
  'blind-score:prepared': CustomEvent<BlindScorePreparedDetail>;
}

type DetailOf<K extends keyof BlindScoreEventMap> = BlindScoreEventMap[K] extends CustomEvent<infer D> ? D : never;

/** Dispatches one of the element's events; they bubble and cross the shadow boundary. */
export function emit<K extends keyof BlindScoreEventMap>(target: EventTarget, name: K, detail: DetailOf<K>): void {
  target.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
}

declare global {
  interface GlobalEventHandlersEventMap extends BlindScoreEventMap {}
}
