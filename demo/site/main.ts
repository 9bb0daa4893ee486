/**
 * The bank page's own script: it reacts to the widget's public events the way a bank's page
 * would, offering the next step once the applicant has seen a decision. It reads only the event
 * details the widget publishes (the decision stays in this page).
 */
import type { BlindScoreDecisionDetail } from '../../widget/src/events.ts';

const widget = document.querySelector<HTMLElement>('blind-score');
const nextStep = document.getElementById('next-step');

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

function showNextStep(detail: BlindScoreDecisionDetail): void {
  if (!nextStep) return;
  nextStep.replaceChildren(
    ...(detail.approved
      ? [
          paragraph('Ready when you are: the full application takes about 10 minutes.', 'next-step-title'),
          link('Start my application', '#', 'button button-primary'),
        ]
      : [
          paragraph('Not the right card today?', 'next-step-title'),
          paragraph('The Larkspur Starter card is built to help you grow your credit history, and our advisers can talk it through.'),
          link('Compare other cards', '#features', 'button button-outline'),
        ]),
  );
  nextStep.hidden = false;
}

if (widget && nextStep) {
  widget.addEventListener('blind-score:decision', (e) => showNextStep(e.detail));
  // A new check (or "start over") hides the previous suggestion.
  widget.addEventListener('blind-score:progress', () => (nextStep.hidden = true));
}
