import { join, relative } from 'node:path';
import { Eta } from 'eta';
import { formatInstant, isLocale, Locale, MessageArg, timeZones, translate } from './i18n';
import { renderMarkdown, withTaskForms } from './markdown';

export const VIEWS_DIR = join(__dirname, 'views');
export const STATIC_DIR = join(__dirname, 'static');
export const VIEW_EXTENSION = '.eta';

/**
 * Markup a template may write as it is. Only the helpers below make it, each
 * reviewed: Markdown (rendered with raw HTML off, then sanitised by an
 * allow-list, ./markdown.ts) and the time-zone options (every value escaped).
 */
export class Html {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const UNSAFE = /[&<>"']/;
const escapeHtml = (s: string): string => (UNSAFE.test(s) ? s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]) : s);

/** What every `<%= %>` goes through: absent values print nothing, Html prints as it is, anything else escaped. */
function escapeOutput(value: unknown): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.html;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a template prints whatever it is given as JavaScript does (`<%= %>`'s contract); an object printing [object Object] is the template's bug, not this line's
  return escapeHtml(String(value));
}

/** The functions templates call, bound to the reader's language and time zone. */
export interface ViewHelpers {
  /** The message for a catalog key, with {0}, {1}… filled from args. */
  t(key: string, ...args: MessageArg[]): string;
  /** A date and time in the reader's language and zone. */
  localtime(value: Date | number | null | undefined): string;
  /** Markdown as sanitised HTML; with `tasks` (the owner's note page), each task's box is a form that ticks it. */
  markdown(source: string | null | undefined, tasks?: { action: string; csrfToken: string; version: number }): Html;
  /** The time-zone picker's <option>s with `selected` marked. */
  timeZoneOptions(selected: string | null | undefined): Html;
  /** At most `length` characters, ending in "..." when cut (as Liquid's truncate did). */
  truncate(value: string | null | undefined, length: number): string;
  /** Another template (a path under VIEWS_DIR, e.g. "/admin/tabs") rendered with only `data` and these helpers. */
  partial(name: string, data?: Record<string, unknown>): Html;
}

export interface ViewEngine {
  /** The page for an absolute template path under VIEWS_DIR, with res.locals and the route's data in `data`. */
  render(file: string, data: Record<string, unknown>): string;
}

/**
 * Eta templates (`*.eta`), compiled once into JavaScript functions: the notes
 * list rendered in ~1.7 ms with LiquidJS's interpreter, half of the page's
 * cost under load. Every `<%= %>` is HTML-escaped (`escapeOutput`); `<%~ %>`
 * (unescaped) appears once, in the layout, for the page it wraps, and a test
 * reads every template to keep it so. Templates see `it` (the page's data) and
 * the helpers (`t`, `localtime`, `markdown`, `timeZoneOptions`, `truncate`,
 * `partial`), declared by the function header.
 */
export function createViewEngine(cache: boolean): ViewEngine {
  const eta = new Eta({
    views: VIEWS_DIR,
    defaultExtension: VIEW_EXTENSION,
    cache,
    autoEscape: true,
    escapeFunction: escapeOutput,
    functionHeader: 'const { t, localtime, markdown, timeZoneOptions, truncate, partial } = it.helpers;',
  });
  const helperCache = new Map<string, ViewHelpers>();
  const helpersFor = (locale: Locale, timeZone: string): ViewHelpers => {
    const key = `${locale} ${timeZone}`;
    let helpers = helperCache.get(key);
    if (!helpers) {
      const bound: ViewHelpers = {
        t: (key, ...args) => translate(locale, key, args),
        localtime: (value) => formatInstant(value, locale, timeZone),
        markdown: (source, tasks) => {
          const html = renderMarkdown(source ?? '');
          return new Html(
            tasks
              ? withTaskForms(html, { ...tasks, tick: translate(locale, 'notes.task.tick', []), untick: translate(locale, 'notes.task.untick', []) })
              : html,
          );
        },
        timeZoneOptions: (selected) => new Html(timeZoneOptions(selected ?? 'UTC')),
        truncate: (value, length) => {
          const s = value ?? '';
          return s.length <= length ? s : `${s.slice(0, Math.max(0, length - 3))}...`;
        },
        partial: (name, data = {}) => new Html(eta.render(name, { ...data, helpers: bound })),
      };
      helpers = bound;
      // Bounded: zones are checked against the list before they are stored, so at most 2 × ~420 entries.
      if (helperCache.size < 2000) helperCache.set(key, helpers);
    }
    return helpers;
  };
  return {
    render(file, data) {
      const locale = isLocale(data.locale) ? data.locale : 'en';
      const timeZone = typeof data.timeZone === 'string' ? data.timeZone : 'UTC';
      return eta.render(relative(VIEWS_DIR, file), { ...data, helpers: helpersFor(locale, timeZone) });
    },
  };
}

const optionCache = new Map<string, string>();

/**
 * The ~420 <option>s of the time-zone picker, built once per selected zone,
 * every value escaped.
 */
function timeZoneOptions(selected: string): string {
  let html = optionCache.get(selected);
  if (html === undefined) {
    html = timeZones()
      .map((z) => `<option${z === selected ? ' selected' : ''}>${escapeHtml(z)}</option>`)
      .join('');
    if (optionCache.size < 1000) optionCache.set(selected, html);
  }
  return html;
}
