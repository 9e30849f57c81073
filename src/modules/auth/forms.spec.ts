import { FormInvalid, FormPipe } from '../web';
import { LoginForm } from './login.form';
import { PreferencesForm } from './preferences.form';
import { SignupForm } from './signup.form';
import { TokenForm } from './token.form';

function check(metatype: new () => object, body: Record<string, unknown>): { form?: object; errors?: Record<string, string> } {
  try {
    return { form: { ...new FormPipe().transform(body, { type: 'body', metatype }) } };
  } catch (error) {
    if (error instanceof FormInvalid) return { errors: error.form.errors };
    throw error;
  }
}

describe('the forms of sign-in, sign-up and the account page', () => {
  it('SignupForm refuses by the rules of a new account, with their message keys', () => {
    expect(check(SignupForm, {}).errors).toEqual({ email: 'form.required', displayName: 'form.required', password: 'password.tooShort' });
    expect(check(SignupForm, { email: ['a@example.com', 'b@example.com'], displayName: 'a\u0001b', password: 'password123' }).errors).toEqual({
      email: 'form.required',
      displayName: 'form.invalidCharacters',
      password: 'password.common',
    });
    expect(check(SignupForm, { email: 'a\u0000@example.com', displayName: 'x'.repeat(101), password: 'a long\u0085passphrase' }).errors).toEqual({
      email: 'form.invalidCharacters',
      displayName: 'displayName.invalid',
      password: 'form.invalidCharacters',
    });
    expect(check(SignupForm, { email: 'nope', displayName: ' Ann ', password: 'a long enough passphrase' }).errors).toEqual({ email: 'email.invalid' });
    expect(check(SignupForm, { email: ' Ann@Example.com', displayName: 'Ann', password: 'a long enough passphrase' }).form).toEqual({
      email: ' Ann@Example.com',
      displayName: 'Ann',
      password: 'a long enough passphrase',
    });
  });

  it('LoginForm refuses only control characters in the email (every other failure is answered alike, after the throttle) and keeps only a local next', () => {
    expect(check(LoginForm, { email: 'a@example.com\u0000', password: 'x' }).errors).toEqual({ email: 'login.invalidEmail' });
    expect(check(LoginForm, { email: 'a@example.com', password: 'a\u0000', next: '/notes\u0085' }).form).toEqual({
      email: 'a@example.com',
      password: 'a\u0000',
      next: '',
    });
    expect(check(LoginForm, { email: ['a', 'b'] }).form).toEqual({ email: '', password: '', next: '' });
    expect(check(LoginForm, { email: 'a@example.com', password: 'x', next: '//evil.example' }).form).toEqual({
      email: 'a@example.com',
      password: 'x',
      next: '',
    });
    expect(check(LoginForm, { next: '/notes?tag=x' }).form).toMatchObject({ next: '/notes?tag=x' });
  });

  it('PreferencesForm takes a known language or none, a known time zone, and a known theme or none', () => {
    expect(check(PreferencesForm, { locale: '', timeZone: 'Asia/Tokyo' }).form).toEqual({ locale: '', timeZone: 'Asia/Tokyo', theme: '' });
    expect(check(PreferencesForm, { locale: '', timeZone: 'UTC', theme: 'dark' }).form).toEqual({ locale: '', timeZone: 'UTC', theme: 'dark' });
    expect(check(PreferencesForm, { locale: '', timeZone: 'UTC', theme: 'sepia' }).errors).toEqual({ theme: 'form.errors' });
    expect(check(PreferencesForm, { locale: 'xx', timeZone: 'Mars/Base' }).errors).toEqual({ locale: 'form.errors', timeZone: 'form.errors' });
    expect(check(PreferencesForm, { locale: 'ja', timeZone: ['UTC', 'UTC'] }).errors).toEqual({ timeZone: 'form.errors' });
  });

  it('TokenForm takes a trimmed name of 1 to 100 characters, without control characters', () => {
    expect(check(TokenForm, { name: '  ci  ' }).form).toEqual({ name: 'ci' });
    for (const name of ['/e\u0000', 'a\u0085b', 'a\ud800']) expect(check(TokenForm, { name }).errors).toEqual({ name: 'form.invalidCharacters' });
    for (const name of ['   ', 'x'.repeat(101), ['a', 'b']]) expect(check(TokenForm, { name }).errors).toEqual({ name: 'account.tokens.nameInvalid' });
  });
});
