import { renderMarkdown, toggleTask, withTaskForms } from './markdown';

describe('renderMarkdown', () => {
  it('renders ordinary Markdown', () => {
    expect(renderMarkdown('# Title\n\n**bold** and `code`\n\n```\nconst x = 1 < 2;\n```')).toBe(
      '<h1>Title</h1>\n<p><strong>bold</strong> and <code>code</code></p>\n<pre><code>const x = 1 &lt; 2;\n</code></pre>\n',
    );
  });

  it.each([
    ['<script>alert(1)</script>', /&lt;script&gt;alert\(1\)&lt;\/script&gt;/],
    ['<img src=x onerror=alert(1)>', /&lt;img src=x onerror=alert\(1\)&gt;/],
    ['[x](javascript:alert(1))', /^<p>\[x\]\(javascript:alert\(1\)\)<\/p>/],
    ['[x](JAVASCRIPT:alert(1))', /^<p>\[x\]/],
    ['[x](data:text/html;base64,PHNjcmlwdD4=)', /^<p>\[x\]/],
    ['[x](//evil.example/)', /^<p>\[x\]/],
    ['<a href="javascript:alert(1)">x</a>', /&lt;a href="javascript:alert\(1\)"&gt;/],
    ['</textarea><script>alert(1)</script>', /&lt;\/textarea&gt;&lt;script&gt;/],
    ['{{7*7}} {% raw %}', /\{\{7\*7\}\} \{% raw %\}/],
  ])('neutralises %j', (source, expected) => {
    const html = renderMarkdown(source);
    expect(html).toMatch(expected);
    // Whatever the text says, no element carries it out.
    expect(html).not.toMatch(/<(script|img|iframe|object)|<[^>]*(on\w+=|javascript:|data:)[^>]*>/i);
  });

  it('keeps safe links, marks them, and shows images as links', () => {
    expect(renderMarkdown('[docs](https://example.com/a?b=1) <mailto:a@example.com> [here](/notes)')).toBe(
      '<p><a href="https://example.com/a?b=1" rel="noopener noreferrer nofollow ugc">docs</a> <a href="mailto:a@example.com" rel="noopener noreferrer nofollow ugc">mailto:a@example.com</a> <a href="/notes" rel="noopener noreferrer nofollow ugc">here</a></p>\n',
    );
    expect(renderMarkdown('![a cat](https://example.com/cat.png)')).toBe(
      '<p><a href="https://example.com/cat.png" rel="noopener noreferrer nofollow ugc">a cat</a></p>\n',
    );
  });

  it('drops inline styles (the CSP allows none)', () => {
    expect(renderMarkdown('| a | b |\n|--:|:-:|\n| 1 | 2 |')).not.toContain('style=');
  });
});

describe('highlighted code', () => {
  it('marks the code of a fence that names a language highlight.js knows, with its classes only', () => {
    expect(renderMarkdown('```ts\nconst x = f(1 < 2);\n```')).toBe(
      '<pre><code class="language-ts"><span class="hljs-keyword">const</span> x = <span class="hljs-title function_">f</span>(<span class="hljs-number">1</span> &lt; <span class="hljs-number">2</span>);\n</code></pre>\n',
    );
    expect(renderMarkdown('```SQL\nselect 1\n```')).toContain('<span class="hljs-keyword">select</span>');
  });

  it('keeps markup inside code as text: highlighting adds spans, never an element of the code', () => {
    const html = renderMarkdown('```html\n<script>alert(1)</script><img src=x onerror="alert(1)"><a href="javascript:x">\n```');
    expect(html).toContain('&lt;<span class="hljs-name">script</span>&gt;');
    expect(html.replace(/<\/?(span|pre|code)\b[^>]*>/g, '')).not.toContain('<'); // every other < is &lt;
  });

  it('leaves a fence without a language, or with one it does not know, as plain text', () => {
    expect(renderMarkdown('```\nconst x = 1;\n```')).toBe('<pre><code>const x = 1;\n</code></pre>\n');
    expect(renderMarkdown('```nosuchlanguage\nconst x = 1;\n```')).toBe('<pre><code class="language-nosuchlanguage">const x = 1;\n</code></pre>\n');
  });

  it('lets no span or class through from the text itself', () => {
    expect(renderMarkdown('a <span class="hljs-keyword">b</span>')).toBe('<p>a &lt;span class="hljs-keyword"&gt;b&lt;/span&gt;</p>\n');
  });

  it('loads highlight.js only when a page has a fence that names a language', () => {
    let loads = 0;
    jest.isolateModules(() => {
      // The real module, counted as it is loaded.
      jest.doMock('highlight.js/lib/common', () => {
        loads++;
        return jest.requireActual('highlight.js/lib/common');
      });
      const fresh = jest.requireActual<typeof import('./markdown')>('./markdown');
      fresh.renderMarkdown('# no code\n\n`inline`\n\n```\nplain\n```\n\n    indented');
      expect(loads).toBe(0);
      fresh.renderMarkdown('```js\nlet a\n```');
      fresh.renderMarkdown('```py\nx = 1\n```');
      expect(loads).toBe(1);
    });
  });
});

describe('task lists', () => {
  const source = [
    '- [ ] first',
    '- [x] second',
    '',
    '```',
    '- [ ] in a fence, not a task',
    '```',
    '',
    '    - [ ] indented code, not a task',
    '',
    '> 1. [X] quoted',
    '>    - [ ] nested',
    '',
    '- not [ ] a task',
    '- [ ]',
    '',
  ].join('\n');

  it('renders each task as a disabled checkbox, and nothing in code', () => {
    const html = renderMarkdown(source);
    expect(html.match(/<input[^>]*>/g)).toEqual([
      '<input type="checkbox" disabled />',
      '<input type="checkbox" disabled checked />',
      '<input type="checkbox" disabled checked />',
      '<input type="checkbox" disabled />',
    ]);
    expect(html).toContain('<li><input type="checkbox" disabled /> first</li>');
    expect(html).toContain('- [ ] in a fence, not a task');
    expect(html).toContain('<li>not [ ] a task</li>');
  });

  it('toggles the n-th task as the page counts it, changing only its box', () => {
    expect(toggleTask(source, 0)).toBe(source.replace('- [ ] first', '- [x] first'));
    expect(toggleTask(source, 1)).toBe(source.replace('- [x] second', '- [ ] second'));
    expect(toggleTask(source, 2)).toBe(source.replace('1. [X] quoted', '1. [ ] quoted'));
    expect(toggleTask(source, 3)).toBe(source.replace('- [ ] nested', '- [x] nested'));
    expect(toggleTask(source, 4)).toBeNull();
    expect(toggleTask('```\n- [ ] a\n```\n- [ ] b\n', 0)).toBe('```\n- [ ] a\n```\n- [x] b\n');
  });

  it('keeps Windows line breaks and finds the task on its line', () => {
    expect(toggleTask('text\r\n\r\n- [ ] a\r\n- [ ] b\r\n', 1)).toBe('text\r\n\r\n- [ ] a\r\n- [x] b\r\n');
  });

  it('lets no other input through the sanitiser', () => {
    expect(renderMarkdown('<input type="text" value="x">')).not.toContain('<input');
  });

  it('makes each box a form that posts the note version (the owner’s page)', () => {
    const html = withTaskForms(renderMarkdown('- [ ] a\n- [x] b\n'), {
      action: '/notes/n1/tasks',
      csrfToken: 't"k',
      version: 7,
      tick: 'Tick',
      untick: 'Untick',
    });
    expect(html).toContain(
      '<form method="post" action="/notes/n1/tasks/0" class="task" id="task-0"><input type="hidden" name="_csrf" value="t&quot;k"><input type="hidden" name="version" value="7"><button type="submit" class="task-box" role="checkbox" aria-checked="false" aria-label="Tick"></button></form> a',
    );
    expect(html).toContain('action="/notes/n1/tasks/1"');
    expect(html).toContain('aria-checked="true" aria-label="Untick"');
  });
});
