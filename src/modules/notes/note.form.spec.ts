import { FormInvalid, FormPipe } from '../web';
import { NoteForm } from './note.form';

const read = (body: Record<string, unknown>) => new FormPipe().transform(body, { type: 'body', metatype: NoteForm }) as NoteForm;
const errorsOf = (body: Record<string, unknown>) => {
  try {
    read(body);
  } catch (error) {
    if (error instanceof FormInvalid) return error.form.errors;
    throw error;
  }
  return {};
};

describe('NoteForm', () => {
  it('reads the fields as a person types them: title trimmed, line breaks made \\n, tags split and lower-cased, private unless chosen', () => {
    expect({ ...read({ title: '  Weekly  ', body: 'a\r\nb', tags: 'Review, weekly,,', visibility: '' }) }).toEqual({
      title: 'Weekly',
      body: 'a\nb',
      tags: ['review', 'weekly'],
      visibility: 'private',
      editableByTeam: false,
    });
  });

  it('takes tags in any script, separated by , ， or 、, normalised as the API stores them (NFKC, lower case)', () => {
    expect(read({ title: 't', body: '', tags: '会議、東京，Node.JS, ＡＰＩ, ｶｲｷﾞ, Café', visibility: '' }).tags).toEqual([
      '会議',
      '東京',
      'node.js',
      'api',
      'カイギ',
      'café',
    ]);
    expect(errorsOf({ title: 't', body: '', tags: '会議, c++' })).toEqual({ tags: 'note.invalid.tags' });
    expect(errorsOf({ title: 't', body: '', tags: 'あ'.repeat(32) })).toEqual({});
    expect(errorsOf({ title: 't', body: '', tags: 'あ'.repeat(33) })).toEqual({ tags: 'note.invalid.tags' });
  });

  it("gives each field the API's rules and one message key", () => {
    expect(errorsOf({ title: ' ', body: 'x\u0000', tags: 'Good, bad tag', visibility: 'secret' })).toEqual({
      title: 'note.invalid.title',
      body: 'form.invalidCharacters',
      tags: 'note.invalid.tags',
      visibility: 'note.invalid.visibility',
    });
    expect(errorsOf({ title: 'x'.repeat(201), body: '', tags: Array.from({ length: 21 }, (_, i) => `t${i}`).join(',') })).toEqual({
      title: 'note.invalid.title',
      tags: 'note.invalid.tags',
    });
    expect(errorsOf({ title: '記'.repeat(200), body: 'x'.repeat(100_000), tags: Array.from({ length: 20 }, (_, i) => `t${i}`).join(',') })).toEqual({});
  });

  it('reads a repeated title as empty: refused, not joined', () => {
    expect(errorsOf({ title: ['a', 'b'], body: '' })).toEqual({ title: 'note.invalid.title' });
  });
});
