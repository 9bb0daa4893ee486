/**
 * `<BlindScore>` for React (`@lit/react`): the `<blind-score>` element with its properties as
 * props and its events as `on…` callbacks. Shipped as `dist/widget/module/blind-score-react.js`,
 * which imports the element from `./blind-score.js` beside it and `react` from the host's bundle.
 *
 * @example
 * import { BlindScore } from '/blind-score/blind-score-react.js';
 * <BlindScore gatewayUrl="https://blindscore.bank.example" publishableKey="pk_live_…" mode="applicant"
 *   onDecision={(e) => e.detail.approved && showApplyButton()} />
 */
import { createComponent, type EventName } from '@lit/react';
import * as React from 'react';
import { BlindScore as BlindScoreElement } from './blind-score.ts';
import type { BlindScoreEventMap } from './events.ts';

const event = <K extends keyof BlindScoreEventMap>(name: K) => name as EventName<BlindScoreEventMap[K]>;

export const BlindScore = createComponent({
  tagName: 'blind-score',
  elementClass: BlindScoreElement,
  react: React,
  events: {
    onProgress: event('blind-score:progress'),
    onDecision: event('blind-score:decision'),
    onError: event('blind-score:error'),
    onSession: event('blind-score:session'),
    onPrepared: event('blind-score:prepared'),
    onForm: event('blind-score:form'),
  },
  displayName: 'BlindScore',
});

export type * from './events.ts';
