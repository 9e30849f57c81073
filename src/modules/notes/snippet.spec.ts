import { parseQuery } from './search/query';
import { snippet } from './snippet';

const text = (body: string, q = '') =>
  snippet(body, parseQuery(q))
    .map((p) => (p.mark ? `[${p.text}]` : p.text))
    .join('');

describe('snippet', () => {
  it('reads Markdown as the page shows it, as one plain line: no punctuation, no link targets', () => {
    expect(text('# Deploy\n\n**Check** the [runbook](https://example.com/runbook) and `kubectl`.')).toBe('Deploy Check the runbook and kubectl.');
  });

  // Each row is a class of residue a text-level clean-up left: the excerpt must show only what a reader of the note sees.
  it.each([
    ['task list boxes, open and ticked', '- [ ] buy milk\n- [x] call Bob\n* [X] done', 'buy milk call Bob done'],
    ['a task box in an ordered list', '1. [ ] first\n2. [x] second', 'first second'],
    ['a code fence language', '```typescript\nconst a = 1;\n```\n\n~~~ python\nprint(2)\n~~~', 'const a = 1; print(2)'],
    ['emphasis before punctuation', '**bold**, *italic*; `code`: ~~gone~~! __strong__?', 'bold, italic; code: gone! strong?'],
    [
      'a link or an image before punctuation',
      'See [the docs](https://example.com). Also ![a chart](https://example.com/c.png), ok',
      'See the docs. Also a chart, ok',
    ],
    ['a reference link and its definition', 'Read [the guide][g].\n\n[g]: https://example.com/guide', 'Read the guide.'],
    ['quotes, headings and rules', '> quoted\n\n## Heading ##\n\n---\n\nSetext\n======', 'quoted Heading Setext'],
    ['a table', '| name | value |\n| --- | ---: |\n| a | 1 |', 'name value a 1'],
    ['escapes and entities', '\\*not emphasis\\* &amp; 1 &lt; 2 &copy;', '*not emphasis* & 1 < 2 ©'],
    ['raw HTML, which the page shows as text', 'a <b>tag</b>', 'a <b>tag</b>'],
    ['line breaks inside a paragraph', 'one\ntwo  \nthree', 'one two three'],
    ['Japanese text next to Markdown', '**会議**、`東京`。\n\n- [ ] 資料', '会議、東京。 資料'],
  ])('leaves out %s', (_, body, expected) => {
    expect(text(body)).toBe(expected);
  });

  it('never shows Markdown punctuation, a fence language or a task box, whatever the mix', () => {
    const body = ['# Plan', '- [ ] **draft**, then [send](https://x.example/a_(b))', '```json', '{"a": 1}', '```', '> *note*: done'].join('\n');
    const excerpt = text(body);
    expect(excerpt).toBe('Plan draft, then send {"a": 1} note: done');
    expect(excerpt).not.toMatch(/\[ \]|- \]|\*\*|```|json|https?:| [,.;:!?]/);
  });

  it('drops a link target the excerpt cuts, rather than showing half a URL', () => {
    const body = `${'word '.repeat(33)}see the [runbook](https://example.com/a/very/long/path/that/goes/on)`;
    expect(text(body)).toBe(`${'word '.repeat(33)}see the runbook`);
  });

  it('starts near the first match and marks every matching word', () => {
    const body = `${'filler '.repeat(40)}the **incident** review, then the incident postmortem`;
    expect(text(body, 'incident')).toMatch(/^…iller (filler ){10}the \[incident\] review, then the \[incident\] postmortem$/);
  });

  it('shows the first 200 characters of a long note and marks that it goes on', () => {
    const excerpt = text(`${'lorem ipsum '.repeat(2_000)}`);
    expect(excerpt).toMatch(/^lorem ipsum .*…$/);
    expect([...excerpt].length).toBeLessThanOrEqual(201);
  });

  it('finds a match far into a 100,000-character note, reading only the Markdown around it', () => {
    const body = `${'- [ ] filler item\n'.repeat(5_000)}\nThe **needle** is here, near the end.\n`;
    expect(body.length).toBeGreaterThan(90_000);
    expect(text(body, 'needle')).toMatch(/^….*filler item The \[needle\] is here, near the end\.$/);
    expect(text(body, 'needle')).not.toMatch(/\[ \]|\*\*/);
  });
});
