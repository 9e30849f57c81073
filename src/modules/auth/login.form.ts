import { Transform } from 'class-transformer';
import { IsString } from 'class-validator';
import { safeNext } from '../web';

/**
 * The sign-in form. It has no rules beyond its fields being text: every
 * failure is answered alike, after the throttle (Accounts.login), so that
 * an answer never tells more than "email or password is incorrect".
 */
export class LoginForm {
  @IsString() email!: string;

  @IsString() password!: string;

  /** Where to go once signed in: a local path, else nothing. */
  @Transform(({ value }: { value: string }) => safeNext(value, ''))
  @IsString()
  next!: string;
}
