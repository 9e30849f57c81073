import type MarkdownIt from 'markdown-it';
import type { Token } from 'markdown-it';
import type SanitizeHtml from 'sanitize-html';
import type { HLJSApi } from 'highlight.js';

const SAFE_SCHEMES = ['http', 'https', 'mailto'];

/**
 * The renderer, made by the first note shown: markdown-it and sanitize-html (with htmlparser2 and postcss) cost
 * ~70 ms and ~5 MiB at every start-up otherwise, and a probe, the API or a sign-in never renders Markdown.
 */
let renderer: Renderer | undefined;

interface Renderer {
  html: (source: string) => string;
  text: (source: string) => string;
  /** The tasks as the page shows them (see tasksIn). */
  tasks: (source: string) => Task[];
}

function makeRenderer(): Renderer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  const MarkdownItClass = require('markdown-it') as typeof MarkdownIt;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  const sanitizeHtml = require('sanitize-html') as typeof SanitizeHtml;
  const md = new MarkdownItClass({ html: false, linkify: true, typographer: false, highlight });
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
  // Task lists (`- [ ] a`, `- [x] b`) as disabled checkboxes. A core rule of our own rather than
  // markdown-it-task-lists (last published 2018): toggling a task counts tasks with the same function (tasksIn).
  md.core.ruler.push('task_lists', (state) => {
    const tasks = tasksIn(state.tokens);
    (state.env as { tasks?: Task[] }).tasks = tasks;
    for (const task of tasks) {
      const first = task.inline.children![0];
      first.content = first.content.replace(TASK_BOX, ' ');
      const box = new state.Token('html_inline', '', 0);
      box.meta = { taskBox: true }; // not text: excerpts (plainText) leave it out
      box.content = task.checked ? '<input type="checkbox" disabled checked>' : '<input type="checkbox" disabled>';
      task.inline.children!.unshift(box);
    }
  });

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
      'input',
      'span', // highlighted code only: a span keeps no attribute but an hljs class
    ],
    allowedAttributes: { a: ['href', 'title', 'rel'], ol: ['start'], code: ['class'], input: ['type', 'disabled', 'checked'] },
    // Highlighted code: highlight.js's own classes (`hljs-title function_`, `language-xml` for an embedded language).
    allowedClasses: { code: [/^language-[\w-]+$/, 'hljs'], span: [/^hljs-[\w-]+$/, /^[a-z]+_+$/, /^language-[\w-]+$/] },
    allowedSchemes: SAFE_SCHEMES,
    allowedSchemesAppliedToAttributes: ['href'],
    allowProtocolRelative: false,
    transformTags: {
      a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer nofollow ugc' }),
      // An input is only ever a task's box: a disabled checkbox, checked or not, whatever else it said.
      input: (_tag, attribs) => ({ tagName: 'input', attribs: { type: 'checkbox', disabled: '', ...('checked' in attribs ? { checked: '' } : {}) } }),
    },
  };
  return {
    html: (source) => sanitizeHtml(md.render(source), SANITIZE),
    text: (source) => plainText(md.parse(source, {})),
    tasks: (source) => {
      const env: { tasks?: Task[] } = {};
      md.parse(source, env);
      return env.tasks ?? [];
    },
  };
}

/** highlight.js with its common languages (about 40), loaded by the first fence that names one: most pages have no code. */
let highlighter: HLJSApi | undefined;

/**
 * A fence's code as highlight.js marks it, when the fence names a language it knows (```ts, ```sql …); '' otherwise,
 * and markdown-it escapes the code as plain text. No guessing the language of an unnamed fence: auto-detection
 * runs every grammar over the code, and a wrong guess paints prose as code.
 */
function highlight(code: string, language: string): string {
  const name = language.trim().toLowerCase();
  if (!name || !/^[\w+#.-]{1,32}$/.test(name)) return '';
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  highlighter ??= require('highlight.js/lib/common') as HLJSApi;
  if (!highlighter.getLanguage(name)) return '';
  const key = `${name}\n${code}`;
  const kept = highlighted.get(key);
  if (kept !== undefined) {
    highlighted.delete(key); // most recently used last
    highlighted.set(key, kept);
    return kept;
  }
  const html = highlighter.highlight(code, { language: name, ignoreIllegals: true }).value;
  highlighted.set(key, html);
  highlightedChars += key.length + html.length;
  for (const [old, value] of highlighted) {
    if (highlightedChars <= HIGHLIGHT_CACHE_CHARS) break;
    highlighted.delete(old);
    highlightedChars -= old.length + value.length;
  }
  return html;
}

/**
 * Highlighted blocks, least recently used first, up to about 4 MB: highlighting is most of the cost of rendering
 * a note with code (25 of 45 ms for 20,000 characters with a block every 400), and a live preview renders the same
 * blocks again at every keystroke, a note page at every view. The output depends on the code and language alone.
 */
const highlighted = new Map<string, string>();
const HIGHLIGHT_CACHE_CHARS = 2_000_000; // UTF-16: about 4 MB
let highlightedChars = 0;

interface Task {
  /** The item's first paragraph's inline token; its first child is the text that starts with the box. */
  inline: Token;
  /** The line (0-based, in the source) where that paragraph starts, and so the box. */
  line: number;
  checked: boolean;
}

/**
 * The task list items in document order: a list item whose first paragraph starts with `[ ]`, `[x]` or `[X]` and a
 * space. Code (fenced or indented) is never a list item's paragraph, so it never counts. Both the renderer and
 * toggleTask count tasks with this, so the n-th box on the page is the n-th box in the source.
 */
function tasksIn(tokens: Token[]): Task[] {
  const tasks: Task[] = [];
  for (let i = 2; i < tokens.length; i++) {
    const inline = tokens[i];
    if (inline.type !== 'inline' || tokens[i - 1].type !== 'paragraph_open' || tokens[i - 2].type !== 'list_item_open') continue;
    const first = inline.children?.[0];
    if (first?.type !== 'text' || !TASK_BOX.test(first.content) || !tokens[i - 1].map) continue;
    tasks.push({ inline, line: tokens[i - 1].map![0], checked: first.content[1] !== ' ' });
  }
  return tasks;
}

/** A task list item's box as typed (`- [ ] `, `- [x] `): no text of the item. */
const TASK_BOX = /^\[[ xX]\][ \t]+/;

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
    if ((child.meta as { taskBox?: boolean } | null)?.taskBox) continue;
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

/**
 * The source with its n-th task (0-based, as tasksIn counts: the n-th box on the page) ticked or unticked; null
 * when there is no such task. Only the box's one character changes: every other byte of the text stays.
 */
export function toggleTask(source: string, n: number): string | null {
  renderer ??= makeRenderer();
  const task = renderer.tasks(source)[n];
  if (!task) return null;
  // markdown-it counts lines after turning \r\n and \r into \n; find the task's line in the text as stored.
  const lineBreak = /\r\n|\r|\n/g;
  let start = 0;
  for (let line = 0; line < task.line; line++) {
    if (!lineBreak.exec(source)) return null;
    start = lineBreak.lastIndex;
  }
  // Before the box on its line there are only container marks (`>`, `-`, `1.`, spaces): the first box is the task's.
  const box = /\[([ xX])\]/.exec(source.slice(start));
  if (!box) return null;
  const at = start + box.index + 1;
  return source.slice(0, at) + (task.checked ? ' ' : 'x') + source.slice(at + 1);
}

/** What a note page needs to make each task's box a form that ticks it (the owner's page only). */
export interface TaskForms {
  /** `/notes/:id/tasks`: each box posts to `<action>/<n>`. */
  action: string;
  csrfToken: string;
  version: number;
  /** The button's label for a box not ticked, and for a ticked one (already escaped by the caller's i18n). */
  tick: string;
  untick: string;
}

/**
 * Sanitised HTML whose task boxes are small forms (a button posting the note's version), so that the owner ticks
 * a task without JavaScript. The sanitiser leaves no <input> but the boxes, in exactly these two spellings.
 */
export function withTaskForms(html: string, forms: TaskForms): string {
  let n = 0;
  return html.replace(/<input type="checkbox" disabled(?:="")?( checked(?:="")?)? \/>/g, (_match, checked?: string) => {
    const i = n++;
    const done = checked !== undefined;
    return (
      `<form method="post" action="${escapeAttr(`${forms.action}/${i}`)}" class="task" id="task-${i}">` +
      `<input type="hidden" name="_csrf" value="${escapeAttr(forms.csrfToken)}">` +
      `<input type="hidden" name="version" value="${forms.version}">` +
      `<button type="submit" class="task-box" role="checkbox" aria-checked="${done}" aria-label="${escapeAttr(done ? forms.untick : forms.tick)}"></button>` +
      `</form>`
    );
  });
}

function escapeAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
