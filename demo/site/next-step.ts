/**
 * The bank's next step once the applicant has seen a decision: start the application, or look
 * at other cards. Every page that embeds the widget offers it from the widget's public
 * `blind-score:decision` event (the decision stays in the page).
 */
import type { BlindScoreDecisionDetail } from '../../widget/src/blind-score.ts';

function paragraph(text: string, className?: string): HTMLParagraphElement {
  const p = document.createElement('p');
  p.textContent = text;
  if (className) p.className = className;
  return p;
}

function link(text: string, href: string, className: string): HTMLAnchorElement {
  const a = document.createElement('a');
  a.textContent = text;
  a.href = href;
  a.className = className;
  return a;
}

function showNextStep(nextStep: HTMLElement, detail: BlindScoreDecisionDetail): void {
  nextStep.replaceChildren(
    ...(detail.approved
      ? [
          paragraph('Ready when you are: the full application takes about 10 minutes.', 'next-step-title'),
          link('Start my application', '#', 'button button-primary'),
        ]
      : [
          paragraph('Not the right card today?', 'next-step-title'),
          paragraph('The Larkspur Starter card is built to help you grow your credit history, and our advisers can talk it through.'),
          link('Compare other cards', '/#features', 'button button-outline'),
        ]),
  );
  nextStep.hidden = false;
}

/** Shows the next step in `nextStep` after each decision of `widget`, and hides it when the form is back or a new check starts. */
export function offerNextStep(widget: HTMLElement, nextStep: HTMLElement): void {
  widget.addEventListener('blind-score:decision', (e) => showNextStep(nextStep, e.detail));
  // "Start over" or "Change my answers": the decision the step answers is gone from view.
  widget.addEventListener('blind-score:form', () => (nextStep.hidden = true));
  // A preparation ahead of the click is not a new check: only a check hides the last decision's step.
  widget.addEventListener('blind-score:progress', (e) => {
    if (e.detail.phase === 'check') nextStep.hidden = true;
  });
}
