/**
 * The demo bank page as a person uses it: open it, fill the widget's form field by field,
 * press the button, and read what the widget shows. Also records what the page sent to the
 * gateway (from the browser's own network events) and any Content-Security-Policy report.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import type { CreditFeatures, FeatureName } from '../../../model/features.ts';
import type { Model } from '../../../model/private-model.ts';
import { askedFeatures } from '../../../widget/src/form/values.ts';
import { en } from '../../../widget/src/translations/en.ts';
import type { DemoStack } from '../../../demo/stack.ts';

export const SCREENSHOT_DIR = join(import.meta.dirname, '..', '.screenshots');

export interface SeenRequest {
  method: string;
  /** Path on the gateway, e.g. `/v1/sessions/<id>/server-key`. */
  path: string;
  at: number;
}

export type Outcome = 'result' | 'error';

export class BankPage {
  /** Every request the page made to the gateway, in order. */
  readonly gatewayRequests: SeenRequest[] = [];
  /** Console messages about the Content-Security-Policy (there must be none). */
  readonly cspReports: string[] = [];
  readonly widget: Locator;

  private constructor(
    readonly page: Page,
    private readonly model: Model,
    gatewayUrl: string,
  ) {
    this.widget = page.locator('blind-score');
    const gatewayOrigin = new URL(gatewayUrl).origin;
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin === gatewayOrigin) this.gatewayRequests.push({ method: request.method(), path: url.pathname, at: Date.now() });
    });
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) this.cspReports.push(message.text());
    });
  }

  /** Opens a page of the site (the landing page by default) and waits until the widget's form is shown. */
  static async open(context: BrowserContext, stack: DemoStack, model: Model, path = '/'): Promise<BankPage> {
    const page = await context.newPage();
    const bank = new BankPage(page, model, stack.gatewayUrl);
    await page.goto(new URL(path, stack.url).href);
    await bank.widget.locator('[part~="form"]').waitFor({ state: 'visible', timeout: 60_000 });
    return bank;
  }

  field(name: FeatureName): Locator {
    return this.widget.locator(`#field-${name}`);
  }

  /** A field's box: label, control, help and error message. */
  fieldBox(name: FeatureName): Locator {
    return this.widget.locator('[part~="field"]').filter({ has: this.page.locator(`#field-${name}`) });
  }

  /** Enters every answer the form shows (applicant, bank and bureau panels in demo mode) the way a person would. */
  /** Answers the fields the form asks for (only what the model reads); other values are not asked. */
  async fill(features: Partial<CreditFeatures>): Promise<void> {
    for (const descriptor of askedFeatures(this.model.manifest)) {
      const value = features[descriptor.name];
      if (value === undefined) continue;
      const field = this.field(descriptor.name);
      if (descriptor.kind === 'boolean') await field.setChecked(value === true);
      else if (descriptor.kind === 'category') await field.selectOption(String(value));
      else await field.fill(String(value));
    }
  }

  async submit(): Promise<void> {
    await this.widget.getByRole('button', { name: en.submit }).click();
  }

  /** Waits until the widget shows a decision or an error, and says which. */
  async waitForOutcome(timeoutMs = 180_000): Promise<Outcome> {
    await this.widget.locator('[part~="result"], [part~="error"]').first().waitFor({ state: 'visible', timeout: timeoutMs });
    return (await this.widget.locator('[part~="result"]').isVisible()) ? 'result' : 'error';
  }

  /** The visible text of the result, or of the error when there is one instead. */
  async shownText(): Promise<string> {
    const result = this.widget.locator('[part~="result"]');
    if (await result.isVisible()) return result.innerText();
    return this.widget.locator('[part~="error"]').innerText();
  }

  /** Requests to the gateway made after `since` (ms timestamp), as `METHOD path` strings. */
  requestsSince(since: number): string[] {
    return this.gatewayRequests.filter((r) => r.at >= since).map((r) => `${r.method} ${r.path}`);
  }

  async screenshot(name: string): Promise<void> {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await this.page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  }

  async close(): Promise<void> {
    await this.page.close();
  }
}
