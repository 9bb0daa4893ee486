/**
 * A tenant's or a page's brand for the widget (`appearance`): `theme` picks a set of defaults,
 * `variables` set the widget's `--blind-score-*` custom properties by camelCase name, `rules`
 * style its parts with CSS declarations. One schema for the tenant configuration (gateway), the
 * `GET /v1/appearance` answer and the element's property. Values cannot hold a character that
 * ends a declaration or a rule.
 */
import { z } from 'zod';

export const APPEARANCE_THEMES = ['default', 'night', 'flat'] as const;
export type AppearanceTheme = (typeof APPEARANCE_THEMES)[number];

/** Each variable, by its camelCase name, is the custom property `--blind-score-<kebab-case>`. */
export const APPEARANCE_VARIABLES = [
  'accent',
  'accentHover',
  'accentContrast',
  'text',
  'muted',
  'surface',
  'subtle',
  'border',
  'inputBorder',
  'success',
  'successBg',
  'danger',
  'dangerBg',
  'focusRing',
  'font',
  'headingFont',
  'fontSize',
  'radius',
  'controlRadius',
  'space',
  'maxWidth',
] as const;
export type AppearanceVariable = (typeof APPEARANCE_VARIABLES)[number];

/** A CSS value: no character that could end a declaration or a rule. */
const CssValue = z
  .string()
  .max(200)
  .regex(/^[^;{}<>]*$/, { error: 'a CSS value without ; { } < >' });

export const Appearance = z
  .object({
    theme: z.enum(APPEARANCE_THEMES).optional(),
    variables: z.partialRecord(z.enum(APPEARANCE_VARIABLES), CssValue).optional(),
    /** Part name → CSS property → value, e.g. `{ submit: { 'text-transform': 'uppercase' } }`. */
    rules: z
      .record(z.string().regex(/^[a-z][a-z-]*$/, { error: 'a part name' }), z.record(z.string().regex(/^-?[a-z][a-z-]*$/), CssValue))
      .optional(),
  })
  .strict();
export type Appearance = z.infer<typeof Appearance>;
