import { IsString } from 'class-validator';

/**
 * The password change. Both fields are checked by Accounts.changePassword, in
 * its order: the current password first (throttled like signing in), then
 * the new one, so the form has no rules beyond its fields being text.
 */
export class PasswordForm {
  @IsString() currentPassword!: string;

  @IsString() newPassword!: string;
}
