/**
 * The landing page's own script: it reacts to the widget's public events the way a bank's page
 * would, offering the next step once the applicant has seen a decision.
 */
import { offerNextStep } from './next-step.ts';

const widget = document.querySelector<HTMLElement>('blind-score');
const nextStep = document.getElementById('next-step');
if (widget && nextStep) offerNextStep(widget, nextStep);
