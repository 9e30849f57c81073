import { ValidateBy } from 'class-validator';
import { accountProblems, NewAccount } from './accounts.service';

/** One field's rule of a new account, as Accounts.create applies it (accountProblems): its message key when broken. */
function AccountRule(field: keyof NewAccount): PropertyDecorator {
  return ValidateBy({
    name: 'account',
    validator: {
      validate: (_value, args) => !accountProblems(args!.object as NewAccount)[field],
      defaultMessage: (args) => accountProblems(args!.object as NewAccount)[field] ?? 'form.errors',
    },
  });
}

/** The sign-up form: email, display name and password by the rules every new account meets. */
export class SignupForm implements NewAccount {
  @AccountRule('email') email!: string;

  @AccountRule('displayName') displayName!: string;

  @AccountRule('password') password!: string;
}
