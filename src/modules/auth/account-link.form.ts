import { IsString } from 'class-validator';

/**
 * The invitation's sign-up form. The email is the invitation's (not a field); the name and password are checked by
 * the rules every new account meets, after the link (AccountLinks.acceptInvite), so that a spent link says so first.
 */
export class InviteForm {
  @IsString() token!: string;

  @IsString() displayName!: string;

  @IsString() password!: string;
}

/** The new password a reset link sets: checked by the password rule after the link (AccountLinks.resetWith). */
export class ResetForm {
  @IsString() token!: string;

  @IsString() password!: string;
}
