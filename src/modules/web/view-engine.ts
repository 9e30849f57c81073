import { join } from 'node:path';
import { Liquid } from 'liquidjs';
import { formatInstant, isLocale, Locale, translate } from './i18n';

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
  return liquid;
}
