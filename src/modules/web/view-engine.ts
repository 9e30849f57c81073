import { join } from 'node:path';
import { Context, Emitter, Liquid, Tag, TagToken, TopLevelToken, Value } from 'liquidjs';
import { formatInstant, isLocale, Locale, timeZones, translate } from './i18n';
import { renderMarkdown } from './markdown';

export const VIEWS_DIR = join(__dirname, 'views');
export const STATIC_DIR = join(__dirname, 'static');

/**
 * Liquid with every `{{ }}` output HTML-escaped. The only way around it is
 * the `raw` filter, which a test allows in exactly one reviewed place.
 * Templates cannot run code, only read the data they are given.
 */
export function createViewEngine(cache: boolean): Liquid {
  const liquid = new Liquid({
    root: VIEWS_DIR,
    extname: '.liquid',
    outputEscape: 'escape',
    strictFilters: true,
    cache,
  });
  const localeOf = (ctx: { getSync(paths: PropertyKey[]): unknown }): Locale => {
    const locale = ctx.getSync(['locale']);
    return isLocale(locale) ? locale : 'en';
  };
  liquid.registerFilter('t', function (this: { context: { getSync(paths: PropertyKey[]): unknown } }, key: string, ...args: unknown[]) {
    return translate(localeOf(this.context), key, args);
  });
  liquid.registerFilter('localtime', function (this: { context: { getSync(paths: PropertyKey[]): unknown } }, value: Date | number | null) {
    const zone = this.context.getSync(['timeZone']);
    return formatInstant(value, localeOf(this.context), typeof zone === 'string' ? zone : 'UTC');
  });
  liquid.registerTag('timezone_options', htmlTag((zone) => timeZoneOptions(String(zone))));
  liquid.registerTag('markdown', htmlTag((source) => renderMarkdown(String(source ?? ''))));
  return liquid;
}

/**
 * A tag `{% name expression %}` that writes `toHtml(value)` unescaped. Only two
 * exist, each reviewed: `timezone_options` (every value escaped) and `markdown`
 * (rendered with raw HTML off, then sanitised by an allow-list, ./markdown.ts),
 * the one way user-written HTML reaches a page.
 */
function htmlTag(toHtml: (value: unknown) => string) {
  return class extends Tag {
    private readonly value: Value;

    constructor(token: TagToken, remaining: TopLevelToken[], liquid: Liquid) {
      super(token, remaining, liquid);
      this.value = new Value(token.args, liquid);
    }

    *render(ctx: Context, emitter: Emitter): Generator<unknown, void, unknown> {
      emitter.write(toHtml(yield this.value.value(ctx)));
    }
  };
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
const optionCache = new Map<string, string>();

/**
 * The ~420 <option>s of the time-zone picker. Looping over them in Liquid
 * took 9 ms of every account page; built once per selected zone here, every
 * value escaped, they cost nothing.
 */
function timeZoneOptions(selected: string): string {
  let html = optionCache.get(selected);
  if (html === undefined) {
    html = timeZones().map((z) => `<option${z === selected ? ' selected' : ''}>${escapeHtml(z)}</option>`).join('');
    if (optionCache.size < 1000) optionCache.set(selected, html);
  }
  return html;
}
