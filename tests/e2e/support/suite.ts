/**
 * What a demo-page suite opens once: the `npm start` stack, Chromium with one browser context
 * (the page's `cache-keys` then lets later checks reuse the first keys), the demo model and one
 * applicant of each outcome. `close()` releases whatever was started, also after a failed start.
 */
import type { Browser, BrowserContext } from 'playwright-core';
import type { Model } from '../../../model/private-model.ts';
import { loadDemoModel, pickApplicants, type Applicant } from './applicants.ts';
import { launchChromium } from './browser.ts';
import { startTestStack, type TestStack } from './stack.ts';

export interface DemoSuite {
  env: TestStack;
  browser: Browser;
  context: BrowserContext;
  model: Model;
  applicants: Record<Applicant['outcome']['kind'], Applicant>;
  close(): Promise<void>;
}

/** @param initScript runs in every page of the context before the page's own scripts */
export async function openDemoSuite(initScript?: () => void): Promise<DemoSuite> {
  const model = await loadDemoModel();
  const applicants = pickApplicants(model);
  const [env, browser] = await Promise.allSettled([startTestStack(), launchChromium()]);
  const close = async () => {
    if (browser.status === 'fulfilled') await browser.value.close();
    if (env.status === 'fulfilled') await env.value.dispose();
  };
  if (env.status === 'rejected' || browser.status === 'rejected') {
    await close();
    throw env.status === 'rejected' ? env.reason : (browser as PromiseRejectedResult).reason;
  }
  const context = await browser.value.newContext({ viewport: { width: 1280, height: 1000 } });
  if (initScript) await context.addInitScript(initScript);
  return { env: env.value, browser: browser.value, context, model, applicants, close };
}
