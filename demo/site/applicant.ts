/**
 * The applicant-mode page's own script. The widget encrypts only the applicant's answers; when it
 * reports its session (`blind-score:session`), this page tells the bank's backend which customer
 * the applicant is (`POST /api/sessions/:id/party-inputs`, the session id and the customer
 * reference only), and the bank's and the bureau's servers upload their encrypted records with
 * their own party keys. The page knows each demo customer by reference, name and a profile in
 * words, and shows the servers' receipt: names and sizes, never a record's value or a
 * ciphertext. With "send them yourself" ticked, it shows the `npm run party` commands instead,
 * which read the values from files on the server's side.
 *
 * The picker stands in for a log-in the demo does not have: a bank's real page sends no customer
 * reference, its backend knows the customer from the applicant's authenticated session.
 */
import type { BlindScoreSessionDetail } from '../../widget/src/blind-score.ts';
import type { CustomersResponse, PartyCommandsResponse, PartyInputsResponse } from '../bank-backend/api.ts';
import { offerNextStep } from './next-step.ts';

type Customer = CustomersResponse['customers'][number];

const widget = document.querySelector<HTMLElement & { cancel(): void }>('blind-score')!;
const select = document.getElementById('customer') as HTMLSelectElement;
const record = document.getElementById('customer-record')!;
const status = document.getElementById('party-status')!;
const statusText = document.getElementById('party-status-text')!;
const receipts = document.getElementById('party-receipts')!;
const byHand = document.getElementById('by-hand') as HTMLInputElement;
const commands = document.getElementById('party-commands')!;

const PARTY_NAMES: Record<string, string> = { bank: 'Larkspur Bank', bureau: 'The credit bureau' };
const WAITING_FOR_COMMANDS = 'Waiting for you to run the two commands shown under "Send the bank\'s and the bureau\'s records yourself".';
let customers: Customer[] = [];
/** The backend call of the current session; a new session or a failed check ends it. */
let pending: AbortController | undefined;
/**
 * The widget's session: it exists as soon as the widget prepares (the applicant's first focus in
 * the form), so a customer picked after that gets their records sent again.
 */
let session: BlindScoreSessionDetail | undefined;

class BackendError extends Error {}

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, init);
  const body = (await res.json().catch(() => ({}))) as { message?: string };
  if (!res.ok) throw new BackendError(body.message ?? `the bank's server answered ${res.status}`);
  return body as T;
}

function showRecord(): void {
  const customer = customers.find((c) => c.reference === select.value);
  record.textContent = customer
    ? `${customer.name} is ${customer.profile}. The servers look up the records; this page never sees them.`
    : '';
}

async function loadCustomers(): Promise<void> {
  try {
    customers = (await api<CustomersResponse>('/api/customers')).customers;
  } catch (e) {
    select.replaceChildren(new Option('The demo customers could not be loaded'));
    record.textContent = (e as Error).message;
    return;
  }
  select.replaceChildren(...customers.map((c) => new Option(`${c.name} (${c.reference})`, c.reference)));
  select.disabled = false;
  showRecord();
}

function showStatus(text: string, failed = false): void {
  status.hidden = false;
  status.classList.toggle('failed', failed);
  statusText.textContent = text;
}

function kilobytes(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} kB`;
}

async function sendRecords(detail: BlindScoreSessionDetail, signal: AbortSignal): Promise<void> {
  const customer = select.value;
  showStatus(`Looking up ${customer} and sending the encrypted records…`);
  try {
    const sent = await api<PartyInputsResponse>(`/api/sessions/${encodeURIComponent(detail.sessionId)}/party-inputs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer }),
      signal,
    });
    showStatus(`Both servers sent their records for ${sent.customer}, encrypted under your browser's public key.`);
    receipts.replaceChildren(
      ...sent.parties.map((p) => {
        const li = document.createElement('li');
        li.textContent = `${PARTY_NAMES[p.party]}: ${p.inputs.map((name) => name.replaceAll('_', ' ')).join(', ')} (${kilobytes(p.listBytes)} of ciphertext)`;
        return li;
      }),
    );
  } catch (e) {
    if (signal.aborted) return;
    showStatus(`The check was stopped: ${(e as Error).message}`, true);
    widget.cancel();
  }
}

async function showCommands(detail: BlindScoreSessionDetail, signal: AbortSignal): Promise<void> {
  showStatus(WAITING_FOR_COMMANDS);
  try {
    const { commands: lines } = await api<PartyCommandsResponse>(`/api/sessions/${encodeURIComponent(detail.sessionId)}/party-commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer: select.value }),
      signal,
    });
    commands.textContent = lines.map((l) => l.command).join('\n\n');
    commands.hidden = false;
    (byHand.closest('details') as HTMLDetailsElement).open = true;
  } catch (e) {
    if (!signal.aborted) showStatus((e as Error).message, true);
  }
}

widget.addEventListener('blind-score:session', (e) => {
  session = e.detail;
  pending?.abort();
  receipts.replaceChildren();
  commands.hidden = true;
  if (!e.detail.missingParties.some((p) => p === 'bank' || p === 'bureau')) return;
  pending = new AbortController();
  void (byHand.checked ? showCommands(e.detail, pending.signal) : sendRecords(e.detail, pending.signal));
});
widget.addEventListener('blind-score:error', () => pending?.abort());
widget.addEventListener('blind-score:decision', () => {
  if (statusText.textContent === WAITING_FOR_COMMANDS) showStatus('The records your commands sent were used for this decision.');
});
select.addEventListener('change', () => {
  showRecord();
  if (!session || byHand.checked || !session.missingParties.some((p) => p === 'bank' || p === 'bureau')) return;
  pending?.abort();
  pending = new AbortController();
  void sendRecords(session, pending.signal);
});
offerNextStep(widget, document.getElementById('next-step')!);
void loadCustomers();
