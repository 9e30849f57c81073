import type MarkdownIt from 'markdown-it';
import type SanitizeHtml from 'sanitize-html';

const SAFE_SCHEMES = ['http', 'https', 'mailto'];

/**
 * The renderer, made by the first note shown: markdown-it and sanitize-html (with htmlparser2 and postcss) cost
 * ~70 ms and ~5 MiB at every start-up otherwise, and a probe, the API or a sign-in never renders Markdown.
 */
let renderer: ((source: string) => string) | undefined;

function makeRenderer(): (source: string) => string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  const MarkdownItClass = require('markdown-it') as typeof MarkdownIt;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  const sanitizeHtml = require('sanitize-html') as typeof SanitizeHtml;
  const md = new MarkdownItClass({ html: false, linkify: true, typographer: false });
  // Links: http, https, mailto, or a path on this site; never javascript:, data:, vbscript:, file: …
  md.validateLink = (url: string) => {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url.trim())?.[1]?.toLowerCase();
    return scheme === undefined ? !url.trim().startsWith('//') : SAFE_SCHEMES.includes(scheme);
  };
  // Images would load from other sites (and break the CSP): show them as links instead.
  md.renderer.rules.image = (tokens, idx, _options, env, self) => {
    const token = tokens[idx];
    const src = String(token.attrGet('src') ?? '');
    const alt = self.renderInlineAsText(token.children ?? [], _options, env) || src;
    return `<a href="${md.utils.escapeHtml(src)}">${md.utils.escapeHtml(alt)}</a>`;
  };

  const SANITIZE: SanitizeHtml.IOptions = {
    allowedTags: [
      'p',
      'h1',
      'h2',
      'h3',
      'h4',
      'h5',
      'h6',
      'ul',
      'ol',
      'li',
      'blockquote',
      'pre',
      'code',
      'em',
      'strong',
      's',
      'del',
      'a',
      'hr',
      'br',
      'table',
      'thead',
      'tbody',
      'tr',
      'th',
      'td',
    ],
    allowedAttributes: { a: ['href', 'title', 'rel'], ol: ['start'], code: ['class'] },
    allowedClasses: { code: [/^language-[\w-]+$/] },
    allowedSchemes: SAFE_SCHEMES,
    allowedSchemesAppliedToAttributes: ['href'],
    allowProtocolRelative: false,
    transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer nofollow ugc' }) },
  };
  return (source) => sanitizeHtml(md.render(source), SANITIZE);
}

/**
 * Markdown to HTML for display: raw HTML in the source is text, links are
 * limited to safe schemes, and the result is sanitised again by an
 * allow-list (no attributes but href/title, no style, no script, ever).
 */
export function renderMarkdown(source: string): string {
  renderer ??= makeRenderer();
  return renderer(source);
}
