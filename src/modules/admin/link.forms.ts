import { IsIn, IsString } from 'class-validator';
import { Role, ROLES } from '../auth';

/** An invitation as the users page's form sends it; the address is checked by AccountLinks.invite. */
export class InviteCreateForm {
  @IsString() email!: string;

  /** `1` when the admin asked for the link to be e-mailed too (a checkbox, shown when SMTP_URL is set). */
  @IsString() send!: string;
}

/** A password link: `send` is `1` from the button that e-mails it too. */
export class ResetLinkForm {
  @IsString() send!: string;
}

/**
 * An account the users page's form creates: the address and name are checked by the rules every account meets
 * (AccountLinks.createAccount); a role the select does not offer is a forged form.
 */
export class AccountCreateForm {
  @IsString() email!: string;

  @IsString() displayName!: string;

  @IsIn(ROLES) role!: Role;

  /** `1` when the admin asked for the password link to be e-mailed too. */
  @IsString() send!: string;
}
