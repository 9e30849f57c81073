import { IsString } from 'class-validator';

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
