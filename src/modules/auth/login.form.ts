import { Transform } from 'class-transformer';
import { IsString } from 'class-validator';
import { safeNext, SafeText } from '../web';

/**
 * The sign-in form. Its only rule is the text rule on the email (a NUL must reach neither the account look-up nor
 * the throttle's keys): every other failure is answered alike, after the throttle (Accounts.login), so that an
 * answer never tells more than "email or password is incorrect". The password is never stored nor queried, and
 * is not checked here: an account whose password predates the text rule can still sign in.
 */
export class LoginForm {
  @SafeText({ max: 1024 }, { messages: { characters: 'login.invalidEmail', length: 'login.failed' } }) email!: string;

  @IsString() password!: string;

  /** Where to go once signed in: a local path, else nothing. */
  @Transform(({ value }: { value: string }) => safeNext(value, ''))
  @IsString()
  next!: string;
}
