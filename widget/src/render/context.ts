/** What the render functions read from the element: strings and the model's form texts. */
import type { FeatureTexts } from '../../../model/manifest.ts';
import type { MessageId } from '../translations/en.ts';

export interface RenderContext {
  /** A widget string in the active locale (host overrides first), placeholders filled. */
  t(id: MessageId, values?: Record<string, string | number>): string;
  /** The manifest's label texts for the active locale. */
  texts: FeatureTexts;
}
