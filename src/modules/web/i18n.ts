import en from './i18n/en.json';
import ja from './i18n/ja.json';

export const LOCALES = ['en', 'ja'] as const;
export type Locale = (typeof LOCALES)[number];

export type MessageKey = keyof typeof en;

const CATALOGS: Record<Locale, Record<string, string>> = { en, ja };

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

/** The message for key in locale, with {0}, {1}… replaced; the key itself if no catalog has it. */
/** What templates pass for the {0}, {1}… of a message: counts, names, settings. */
export type MessageArg = string | number | boolean | null | undefined;

export function translate(locale: Locale, key: string, args: readonly MessageArg[] = []): string {
  const template = CATALOGS[locale][key] ?? CATALOGS.en[key] ?? key;
  return template
    .replace(PLURAL, (_, i: string, forms: string) => pluralForm(locale, Number(args[Number(i)]), forms))
    .replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i)] ?? ''));
}

/**
 * A count's words, in ICU MessageFormat's plural syntax (a subset: no nesting): `{0, plural, one {# second} other {#
 * seconds}}`. The form is chosen by the language's plural rules (Intl.PluralRules: English has one and other,
 * Japanese only other), or by an exact `=n`; `#` is the count.
 */
const PLURAL = /\{(\d+), plural,((?:\s*(?:=\d+|zero|one|two|few|many|other)\s*\{[^{}]*\})+)\s*\}/g;
const pluralRules = new Map<Locale, Intl.PluralRules>();

function pluralForm(locale: Locale, n: number, forms: string): string {
  const choices = new Map([...forms.matchAll(/(=\d+|\w+)\s*\{([^{}]*)\}/g)].map(([, selector, text]) => [selector, text]));
  let rules = pluralRules.get(locale);
  if (!rules) pluralRules.set(locale, (rules = new Intl.PluralRules(locale)));
  const text = choices.get(`=${n}`) ?? choices.get(Number.isFinite(n) ? rules.select(n) : 'other') ?? choices.get('other') ?? '';
  return text.replace(/#/g, Number.isFinite(n) ? n.toLocaleString(locale === 'ja' ? 'ja-JP' : 'en-GB') : '');
}

export function hasMessage(key: string): boolean {
  return key in CATALOGS.en;
}

export function catalogKeys(locale: Locale): string[] {
  return Object.keys(CATALOGS[locale]);
}

/** Building an Intl.DateTimeFormat costs far more than using one: keep one per language and zone. */
const formats = new Map<string, Intl.DateTimeFormat>();
/** Formatted instants remembered, all languages and zones together (about 1 MiB when full, then cleared). */
const formatted = new Map<string, string>();
const INSTANTS_KEPT = 5000;

/**
 * A date and time in the reader's language and time zone, to the minute. Each
 * instant is formatted once per language and zone and remembered, to the
 * second (Intl's format is ~2.5 us, a visible share of a page of 20 notes).
 * Seconds, not minutes: a zone's old offsets can have seconds (New York's
 * -4:56:02 before 1883), so two instants of one UTC minute can fall in two
 * local minutes.
 */
export function formatInstant(value: Date | number | null | undefined, locale: Locale, timeZone: string): string {
  if (value === null || value === undefined) return '';
  const zoneKey = `${locale} ${timeZone}`;
  const ms = typeof value === 'number' ? value : value.getTime();
  const key = `${zoneKey} ${Math.floor(ms / 1000)}`;
  let text = formatted.get(key);
  if (text === undefined) {
    let format = formats.get(zoneKey);
    if (!format) {
      format = new Intl.DateTimeFormat(locale === 'ja' ? 'ja-JP' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone });
      formats.set(zoneKey, format);
    }
    text = format.format(ms);
    if (formatted.size >= INSTANTS_KEPT) formatted.clear();
    formatted.set(key, text);
  }
  return text;
}

const ZONES = new Set(Intl.supportedValuesOf('timeZone'));

export function isTimeZone(value: unknown): value is string {
  return typeof value === 'string' && (value === 'UTC' || ZONES.has(value));
}

export function timeZones(): string[] {
  return ['UTC', ...[...ZONES].filter((z) => z !== 'UTC')];
}
