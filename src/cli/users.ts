import { INestApplicationContext } from '@nestjs/common';
import { Command } from 'commander';
import { randomBytes } from 'node:crypto';

import { Accounts, ApiTokens } from '../modules/auth';
import { textProblem, translate } from '../modules/web';
import { CliEnv, CliFailure, inContext, out, readStdin } from './context';

interface PasswordOptions {
  passwordStdin?: boolean;
}

/** `kiroku users create|reset-password|disable|enable|list`: accounts, for operators. */
export function registerUsersCommands(program: Command, env: CliEnv): void {
  const users = program.command('users').description('accounts, for operators');
  users
    .command('create')
    .description('create an account (prints a generated password once unless --password-stdin)')
    .requiredOption('--email <email>', 'sign-in email')
    .requiredOption('--name <name>', 'display name')
    .option('--admin', 'make the account an administrator')
    .option('--password-stdin', 'read the password from standard input')
    .action(inContext(env, createUser));
  users
    .command('reset-password')
    .description('set a new password and end every session of the account (prints a generated one unless --password-stdin)')
    .requiredOption('--email <email>', 'sign-in email')
    .option('--password-stdin', 'read the password from standard input')
    .action(inContext(env, resetPassword));
  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    users
      .command(name)
      .description(disabled ? 'disable an account and end its sessions' : 'enable a disabled account')
      .requiredOption('--email <email>', 'sign-in email')
      .action(inContext(env, (ctx, opts: { email: string }) => setDisabled(ctx, opts.email, disabled)));
  }
  users.command('list').description('list accounts').action(inContext(env, listUsers));
}

/** `kiroku tokens create`: personal access tokens. */
export function registerTokensCommands(program: Command, env: CliEnv): void {
  program
    .command('tokens')
    .description('personal access tokens')
    .command('create')
    .description('create a token for an account and print it once')
    .requiredOption('--email <email>', 'the account the token acts as')
    .requiredOption('--name <name>', 'what the token is for')
    .action(inContext(env, createToken));
}

async function createUser(ctx: INestApplicationContext, opts: { email: string; name: string; admin?: boolean } & PasswordOptions): Promise<void> {
  await withPassword(opts, async (password) => {
    const result = await ctx.get(Accounts).create({ email: opts.email, displayName: opts.name, password }, opts.admin ? 'admin' : 'user');
    if ('errors' in result) throw new CliFailure(describeErrors(result.errors));
    return `created ${result.user.email} (${result.user.role}, id ${result.user.id})`;
  });
}

async function resetPassword(ctx: INestApplicationContext, opts: { email: string } & PasswordOptions): Promise<void> {
  const accounts = ctx.get(Accounts);
  const user = await existingAccount(accounts, opts.email);
  await withPassword(opts, async (password) => {
    const errors = await accounts.resetPassword(user.id, password);
    if (errors) throw new CliFailure(describeErrors(errors));
    return `password reset for ${user.email}; every session of the account ended`;
  });
}

async function setDisabled(ctx: INestApplicationContext, email: string, disabled: boolean): Promise<void> {
  const accounts = ctx.get(Accounts);
  const user = await existingAccount(accounts, email);
  await accounts.setDisabled(user.id, disabled, null);
  out(`${disabled ? 'disabled' : 'enabled'} ${user.email}`);
}

async function listUsers(ctx: INestApplicationContext): Promise<void> {
  for (const u of await ctx.get(Accounts).list()) {
    out(`${u.email}\t${u.role}\t${u.disabledAt ? 'disabled' : 'active'}\t${u.displayName}`);
  }
}

async function createToken(ctx: INestApplicationContext, opts: { email: string; name: string }): Promise<void> {
  const user = await existingAccount(ctx.get(Accounts), opts.email);
  if (user.disabledAt) throw new CliFailure(`${user.email} is disabled`);
  const name = opts.name.trim();
  const problem = textProblem(name, { min: 1, max: 100 });
  if (problem) throw new CliFailure(`--name ${problem.message}`);
  const { token } = await ctx.get(ApiTokens).create(user.id, name, { via: 'cli' });
  out(token);
}

/**
 * Sets a password read from standard input (--password-stdin) or a generated one; `apply` answers the result line,
 * and a generated password is printed once, after it.
 */
async function withPassword(opts: PasswordOptions, apply: (password: string) => Promise<string>): Promise<void> {
  const password = opts.passwordStdin ? await readStdin() : randomBytes(18).toString('base64url');
  out(await apply(password));
  if (!opts.passwordStdin) out(`password: ${password}`);
}

async function existingAccount(accounts: Accounts, email: string) {
  const user = await accounts.findByEmail(email);
  if (!user) throw new CliFailure(`no account with the email ${email}`);
  return user;
}

/** The option each field of an account comes from, so that a refusal names what the operator typed. */
const OPTION_OF: Record<string, string> = { email: '--email', displayName: '--name', password: 'password' };

function describeErrors(errors: Record<string, string>): string {
  return Object.entries(errors)
    .map(([field, key]) => `${OPTION_OF[field] ?? field}: ${translate('en', key)}`)
    .join('; ');
}
