import { Transform } from 'class-transformer';
import { formMessages, SafeText } from '../web';

/** A new personal access token: its name. */
export class TokenForm {
  @Transform(({ value }: { value: string }) => value.trim())
  @SafeText({ min: 1, max: 100 }, { messages: formMessages('account.tokens.nameInvalid') })
  name!: string;
}
