import { diffNotes } from './revision-diff';

const note = (body: string, over: Partial<{ title: string; tags: string[]; visibility: 'private' | 'public' }> = {}) => ({
  editableByTeam: false,
  title: 'Runbook',
  tags: ['ops'],
  visibility: 'private' as const,
  body,
  ...over,
});
const lines = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `line ${i + from}`);

describe('diffNotes', () => {
  it('finds nothing between equal versions', () => {
    expect(diffNotes(note('a\nb'), note('a\nb'))).toEqual({ same: true, fields: [], body: [] });
  });

  it('shows a changed line as removed then added, with its neighbours', () => {
    const diff = diffNotes(note('one\ntwo\nthree'), note('one\n2\nthree'));
    expect(diff.same).toBe(false);
    expect(diff.body).toEqual([
      { kind: 'same', text: 'one' },
      { kind: 'removed', text: 'two' },
      { kind: 'added', text: '2' },
      { kind: 'same', text: 'three' },
    ]);
  });

  it('folds long unchanged stretches, keeping three lines around each change', () => {
    const before = lines(40);
    const after = [...before];
    after[19] = 'changed';
    const diff = diffNotes(note(before.join('\n')), note(after.join('\n')));
    expect(diff.body[0]).toEqual({ kind: 'gap', lines: 16 });
    expect(diff.body.filter((l) => l.kind === 'same')).toHaveLength(6);
    expect(diff.body[diff.body.length - 1]).toEqual({ kind: 'gap', lines: 17 });
    // Every line is accounted for: shown, or counted in a gap.
    const counted = diff.body.reduce((n, l) => n + (l.kind === 'gap' ? l.lines : l.kind === 'added' ? 0 : 1), 0);
    expect(counted).toBe(40);
  });

  it('names the other fields that changed, and only those', () => {
    const diff = diffNotes(note('same'), note('same', { title: 'Runbook v2', tags: ['ops', 'db'], visibility: 'public' }));
    expect(diff.same).toBe(false);
    expect(diff.body).toEqual([]);
    expect(diff.fields).toEqual([
      { field: 'title', before: 'Runbook', after: 'Runbook v2' },
      { field: 'tags', before: 'ops', after: 'ops, db' },
      { field: 'visibility', before: 'private', after: 'public' },
    ]);
  });

  it('treats a text gaining or losing its last line break as a change of that line', () => {
    const diff = diffNotes(note('a\nb'), note('a\nb\nc'));
    expect(diff.body.filter((l) => l.kind === 'added').map((l) => (l as { text: string }).text)).toContain('c');
  });
});
