/**
 * The demo's records: what the bank's customer database and the credit bureau's files say about
 * each fictional customer (`records.json`), keyed by the bank's customer reference. Each record
 * is checked with the model's own per-party feature schema when loaded, so a fixture the model
 * would refuse never reaches the party SDK.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { BankFeatures, BureauFeatures } from '../../model/features.ts';
import { CustomerReference } from './api.ts';

export const RECORDS_FILE = join(import.meta.dirname, 'records.json');

/** The bank's customer reference, e.g. `LB-20417`. */

const BankRecord = BankFeatures.extend({
  name: z.string().min(1).max(100),
  /** What the page may say about the customer: a profile in words, never a record's value. */
  profile: z.string().min(1).max(200),
}).strict();

const RecordsFile = z
  .object({
    $comment: z.string().optional(),
    bank: z.record(CustomerReference, BankRecord),
    bureau: z.record(CustomerReference, BureauFeatures),
  })
  .strict()
  .superRefine((file, ctx) => {
    for (const reference of Object.keys(file.bank)) {
      if (!(reference in file.bureau))
        ctx.addIssue({ code: 'custom', path: ['bureau', reference], message: 'the bureau has no record of this customer' });
    }
  });

/** One customer as both parties know them. */
export interface CustomerRecords {
  reference: CustomerReference;
  name: string;
  profile: string;
  bank: BankFeatures;
  bureau: BureauFeatures;
}

/** Every customer of the fixture, in file order. */
export function loadRecords(path = RECORDS_FILE): CustomerRecords[] {
  const file = RecordsFile.parse(JSON.parse(readFileSync(path, 'utf8')));
  return Object.entries(file.bank).map(([reference, { name, profile, ...bank }]) => ({
    reference,
    name,
    profile,
    bank,
    bureau: file.bureau[reference]!,
  }));
}
