/**
 * `<blind-score>`: import this module once to define the element.
 *
 * @example
 * <script type="module" src="/blind-score/blind-score.js"></script>
 * <blind-score gateway-url="https://api.bank.example" publishable-key="pk_live_…"></blind-score>
 */
import './zod-config.ts';
import { BlindScore } from './blind-score.component.ts';

export { BlindScore, type BlindScoreMode } from './blind-score.component.ts';
export { BlindScoreError } from './errors.ts';
export { SessionStage } from './session-stage.ts';
export type * from './events.ts';
export type { Translation, MessageId } from './translations/en.ts';

if (!customElements.get('blind-score')) customElements.define('blind-score', BlindScore);

declare global {
  interface HTMLElementTagNameMap {
    'blind-score': BlindScore;
  }
}
