import type MarkdownIt from 'markdown-it';
import type { Token } from 'markdown-it';
import type SanitizeHtml from 'sanitize-html';

const SAFE_SCHEMES = ['http', 'https', 'mailto'];

/**
 * The renderer, made by the first note shown: markdown-it and sanitize-html (with htmlparser2 and postcss) cost
 * ~70 ms and ~5 MiB at every start-up otherwise, and a probe, the API or a sign-in never renders Markdown.
 */
let renderer: Renderer | undefined;

interface Renderer {
  html: (source: string) => string;
  text: (source: string) => string;
}

function makeRenderer(): Renderer {
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
  return { html: (source) => sanitizeHtml(md.render(source), SANITIZE), text: (source) => plainText(md.parse(source, {})) };
}

/** A task list item's box as typed (`- [ ] `, `- [x] `): no text of the item. */
const TASK_BOX = /^\[[ xX]\]\s+/;

/**
 * The text a reader sees in the rendered tokens, as one line: the words of headings, paragraphs, list items,
 * quotes, tables and code (not a code fence's language, a link's target or Markdown punctuation), a space
 * between blocks and none added inside a paragraph (`**bold**,` is `bold,`). Raw HTML is text here as on the
 * page; a task list item's box is left out.
 */
function plainText(tokens: Token[]): string {
  let out = '';
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.type === 'inline') {
      const inList = tokens[i - 2]?.type === 'list_item_open';
      out += inlineText(token.children ?? [], inList);
    } else if (token.type === 'fence' || token.type === 'code_block') {
      out += ` ${token.content} `;
    } else {
      out += ' ';
    }
  }
  return out.replace(/\s+/g, ' ').trim();
}

function inlineText(children: Token[], inList: boolean): string {
  let out = '';
  for (let i = 0; i < children.length; i++) {
    const child = children[i];
    if (child.type === 'text' || child.type === 'code_inline' || child.type === 'html_inline') {
      out += i === 0 && inList ? child.content.replace(TASK_BOX, '') : child.content;
    } else if (child.type === 'softbreak' || child.type === 'hardbreak') {
      out += ' ';
    } else if (child.type === 'image') {
      out += inlineText(child.children ?? [], false) || String(child.attrGet('src') ?? '');
    }
  }
  return out;
}

/**
 * Markdown to HTML for display: raw HTML in the source is text, links are
 * limited to safe schemes, and the result is sanitised again by an
 * allow-list (no attributes but href/title, no style, no script, ever).
 */
export function renderMarkdown(source: string): string {
  renderer ??= makeRenderer();
  return renderer.html(source);
}

/**
 * The text of Markdown as the page shows it, as one plain line (see plainText): for excerpts in lists. The same
 * parser and settings as renderMarkdown, without building or sanitising HTML, which no excerpt shows.
 */
export function markdownText(source: string): string {
  renderer ??= makeRenderer();
  return renderer.text(source);
}
