import { parseQuery } from './search/query';
import { snippet } from './snippet';

const text = (body: string, q = '') =>
  snippet(body, parseQuery(q))
    .map((p) => (p.mark ? `[${p.text}]` : p.text))
    .join('');

describe('snippet', () => {
  it('reads Markdown as one plain line: no punctuation, no link targets', () => {
    expect(text('# Deploy\n\n**Check** the [runbook](https://example.com/runbook) and `kubectl`.')).toBe('Deploy Check the runbook and kubectl .');
  });

  it('drops a link target the excerpt cuts, rather than showing half a URL', () => {
    const body = `${'word '.repeat(33)}see the [runbook](https://example.com/a/very/long/path/that/goes/on)`;
    expect(body.slice(0, 200)).toMatch(/\]\(https:\/\/example\.c$/);
    expect(text(body)).toBe(`${'word '.repeat(33)}see the runbook…`);
  });

  it('starts near the first match and marks every matching word', () => {
    const body = `${'filler '.repeat(40)}the incident review, then the incident postmortem`;
    expect(text(body, 'incident')).toMatch(/^…iller (filler ){10}the \[incident\] review, then the \[incident\] postmortem$/);
  });
});
