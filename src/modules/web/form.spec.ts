import { Transform } from 'class-transformer';
import { IsIn, IsNotEmpty } from 'class-validator';
import { FormInvalid, FormPipe } from './form';
import { CharLength } from './rules';

class ContactForm {
  @IsNotEmpty({ message: 'form.required' })
  email!: string;

  @Transform(({ value }: { value: string }) => value.trim())
  @CharLength(1, 5, { message: 'name.invalid' })
  @IsNotEmpty({ message: 'form.required' })
  name!: string;

  @IsIn(['', 'a', 'b'], { message: 'choice.invalid' })
  choice!: string;
}

const pipe = new FormPipe();
const read = (body: unknown) => pipe.transform(body, { type: 'body', metatype: ContactForm }) as ContactForm;
const refusal = (body: unknown): FormInvalid => {
  try {
    read(body);
  } catch (error) {
    if (error instanceof FormInvalid) return error;
    throw error;
  }
  throw new Error('the form was accepted');
};

describe('FormPipe', () => {
  it('reads the fields its DTO declares into the DTO, transformed, and nothing else (_csrf, forged fields)', () => {
    const form = read({ _csrf: 'token', email: 'a@example.com', name: '  Ann  ', choice: 'a', role: 'admin' });
    expect(form).toBeInstanceOf(ContactForm);
    expect({ ...form }).toEqual({ email: 'a@example.com', name: 'Ann', choice: 'a' });
  });

  it('reads an absent field as empty', () => {
    expect(refusal({ name: 'Ann' }).form).toEqual({ values: { email: '', name: 'Ann', choice: '' }, errors: { email: 'form.required' } });
  });

  it('refuses a repeated (array) field as empty, never reading or crashing on it', () => {
    // email=a&email=b, and email[]=a&email[]=b (which the parser keeps under "email[]")
    for (const body of [
      { email: ['a@example.com', 'b@example.com'], name: 'Ann' },
      { 'email[]': ['a', 'b'], name: 'Ann' },
      { email: { $gt: '' }, name: 'Ann' },
    ]) {
      const { form } = refusal(body);
      expect(form.values.email).toBe('');
      expect(form.errors).toEqual({ email: 'form.required' });
    }
  });

  it('refuses with the values as sent (not transformed) and one message key per field: its first failed rule', () => {
    const { form } = refusal({ email: 'a@example.com', name: '   ', choice: 'z' });
    expect(form).toEqual({ values: { email: 'a@example.com', name: '   ', choice: 'z' }, errors: { name: 'form.required', choice: 'choice.invalid' } });
  });

  it('answers API clients (no @FormView) as a 400 with the field problems', () => {
    const error = refusal({});
    expect(error.getStatus()).toBe(400);
    expect(error.fieldErrors).toEqual([
      { field: 'email', message: 'form.required' },
      { field: 'name', message: 'form.required' },
    ]);
  });

  it('reads no body (absent, or not an object) as an empty form', () => {
    for (const body of [undefined, null, 'email=a', 42]) expect(refusal(body).form.values).toEqual({ email: '', name: '', choice: '' });
  });

  it('needs a DTO class with rules', () => {
    expect(() => pipe.transform({}, { type: 'body', metatype: Object })).toThrow(/needs a DTO class/);
    expect(() => pipe.transform({}, { type: 'body' })).toThrow(/needs a DTO class/);
  });
});
