import { ValidateBy } from 'class-validator';
import { ACCOUNT_FIELD_RULES, NewAccount } from './accounts.service';

/** One field's rule of a new account, as Accounts.create applies it (ACCOUNT_FIELD_RULES): its message key when broken. */
function AccountRule(field: keyof NewAccount): PropertyDecorator {
  const problem = (value: unknown) => ACCOUNT_FIELD_RULES[field](typeof value === 'string' ? value : '');
  return ValidateBy({
    name: 'account',
    validator: {
      validate: (value) => !problem(value),
      defaultMessage: (args) => problem(args?.value) ?? 'form.errors',
    },
  });
}

/** The sign-up form: email, display name and password by the rules every new account meets. */
export class SignupForm implements NewAccount {
  @AccountRule('email') email!: string;

  @AccountRule('displayName') displayName!: string;

  @AccountRule('password') password!: string;
}
