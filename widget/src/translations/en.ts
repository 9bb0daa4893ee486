/**
 * The widget's English strings: the source locale and the single source of every visible text,
 * validation message and ARIA label. `{name}` marks a value filled in at render time. Field
 * labels, help texts and option names come from the model's `FEATURE_TEXTS`.
 */
export const en = {
  title: 'Check your card eligibility privately',
  intro:
    'Your answers are encrypted on this device before they leave it. The bank computes on encrypted data, and only this page can read the result.',
  demoNote: 'Demo: this page also plays the bank and the credit bureau, each encrypting its own data.',
  privacyNote: 'Only this page holds the key that can read your answers and the result.',
  submit: 'Check eligibility',
  cancel: 'Cancel',
  retry: 'Try again',
  editAnswers: 'Edit answers',
  startOver: 'Start over',
  changeAnswers: 'Change my answers',
  required: 'Required',
  fieldRequired: 'Enter a value.',
  fieldNumber: 'Enter a number.',
  fieldInteger: 'Enter a whole number.',
  fieldMin: 'Enter {min} or more.',
  fieldMax: 'Enter {max} or less.',
  fieldChoice: 'Choose an option.',
  formInvalid: 'Some answers need attention: {count} to fix.',
  runningTitle: 'Checking eligibility',
  stepKeygen: 'Creating your private keys',
  stepUpload: 'Sending the encrypted key',
  stepEncrypt: 'Encrypting and sending answers',
  stepWaiting: 'Waiting for the bank and the credit bureau',
  stepEvaluate: 'Evaluating on encrypted data',
  stepDecrypt: 'Decrypting the result',
  stepPending: 'waiting',
  stepActive: 'in progress',
  stepDone: 'done',
  bytesProgress: '{sent} of {total} sent',
  queued: 'Queued: {count} ahead',
  saveDataDeferred: 'Data saver is on, so the encrypted key is prepared only now that you asked for a check.',
  approvedTitle: 'Likely approved',
  approvedBody: 'Based on these answers, you would likely be approved for this card.',
  deniedTitle: 'Likely not approved',
  deniedBody: 'Based on these answers, you would likely not be approved for this card right now.',
  explainYears: 'With at least {years} years of employment you would likely be approved.',
  explainNone: 'A longer employment alone would likely not change this decision.',
  modelVersion: 'Model {version}',
  errorTitle: 'The check could not be completed',
  errorNetwork: 'The service could not be reached. Check your connection and try again.',
  errorBusy: 'The service is busy. Please try again in a moment.',
  errorSession: 'This session has ended. Please start again.',
  errorConfig: 'This form is not set up correctly. Please contact the bank.',
  errorCrypto: 'This browser could not run the encryption.',
  errorGeneric: 'Something went wrong on our side.',
  errorCode: 'Error code: {code}',
  cancelled: 'Check cancelled.',
  resultReady: 'Result ready: {title}',
  loadingModel: 'Loading the form',
} as const;

/** The id of every string; a locale must define each one. */
export type MessageId = keyof typeof en;

/** A complete set of the widget's strings for one locale. */
export type Translation = Record<MessageId, string>;
