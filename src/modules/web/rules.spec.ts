import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { formMessages, printable, SafeText, textProblem } from './rules';

class Sample {
  @SafeText({ min: 1, max: 5 }) line!: string;
  @SafeText({ max: 10, multiline: true }, { messages: formMessages('text.invalid') }) text!: string;
}

const messages = (values: Record<string, unknown>) =>
  Object.fromEntries(validateSync(plainToInstance(Sample, values)).map((e) => [e.property, Object.values(e.constraints ?? {})[0]]));

describe('the text rule', () => {
  it.each([
    ['NUL', 'a\u0000'],
    ['another C0 control', 'a\u001b[2J'],
    ['DEL', 'a\u007f'],
    ['a C1 control (NEL)', 'a\u0085'],
    ['a C1 control (CSI)', 'a\u009b'],
    ['a line feed', 'a\nb'],
    ['a tab', 'a\tb'],
    ['the line separator', 'a\u2028'],
  ])('refuses %s in one-line text', (_label, value) => {
    expect(textProblem(value, { max: 100 })).toEqual({ kind: 'characters', message: expect.stringMatching(/^must not contain control characters/) });
  });

  it('allows tabs and line breaks, and only them, in multi-line text', () => {
    expect(textProblem('a\tb\nc\r\nd\u2028', { max: 100, multiline: true })).toBeNull();
    expect(textProblem('a\u0000', { max: 100, multiline: true })?.kind).toBe('characters');
    expect(textProblem('a\u0085', { max: 100, multiline: true })?.kind).toBe('characters');
    expect(textProblem('a\u000b', { max: 100, multiline: true })?.kind).toBe('characters');
  });

  it('refuses unpaired surrogates and keeps pairs (an emoji is one character)', () => {
    expect(textProblem('a\ud800', { max: 100 })).toEqual({ kind: 'characters', message: expect.stringMatching(/unpaired surrogate/) });
    expect(textProblem('\udc00a', { max: 100 })?.kind).toBe('characters');
    expect(textProblem('😀😀', { max: 2 })).toBeNull();
    expect(textProblem('日本語 ‮RTL', { max: 100 })).toBeNull();
  });

  it('counts length in code points, min and max inclusive, and refuses what is not a string', () => {
    expect(textProblem('', { min: 1, max: 5 })).toEqual({ kind: 'length', message: 'must be 1 to 5 characters' });
    expect(textProblem('x'.repeat(6), { max: 5 })).toEqual({ kind: 'length', message: 'must be at most 5 characters' });
    expect(textProblem('x'.repeat(1_000_000), { max: 5 })?.kind).toBe('length');
    expect(textProblem(3, { max: 5 })?.kind).toBe('type');
  });

  it("answers the API's wording, or a form's message keys", () => {
    expect(messages({ line: 'a\u0000', text: 'b\u0000' })).toEqual({
      line: 'must not contain control characters (NUL, C0 or C1 controls, line breaks)',
      text: 'form.invalidCharacters',
    });
    expect(messages({ line: '', text: 'x'.repeat(11) })).toEqual({ line: 'must be 1 to 5 characters', text: 'text.invalid' });
    expect(messages({ line: 'ok', text: 'two\nlines' })).toEqual({});
  });

  it('makes text printable for showing', () => {
    expect(printable('a\u0000b\u0085c\ud800')).toBe('abc\ufffd');
  });
});
