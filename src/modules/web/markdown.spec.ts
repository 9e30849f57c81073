import { renderMarkdown } from './markdown';

describe('renderMarkdown', () => {
  it('renders ordinary Markdown', () => {
    expect(renderMarkdown('# Title\n\n**bold** and `code`\n\n```ts\nconst x = 1 < 2;\n```')).toBe(
      '<h1>Title</h1>\n<p><strong>bold</strong> and <code>code</code></p>\n<pre><code class="language-ts">const x = 1 &lt; 2;\n</code></pre>\n',
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
