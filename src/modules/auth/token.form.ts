import { Transform } from 'class-transformer';
import { CharLength } from '../web';

/** A new personal access token: its name. */
export class TokenForm {
  @Transform(({ value }: { value: string }) => value.trim())
  @CharLength(1, 100, { message: 'account.tokens.nameInvalid' })
  name!: string;
}
