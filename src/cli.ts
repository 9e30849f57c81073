import 'reflect-metadata';
import { Command, CommanderError } from 'commander';
import { APP_VERSION } from '@kiroku/config';

import { registerAlertCommands } from './cli/alert';
import { refuseUnsafeArguments } from './cli/arguments';
import { registerBackupCommands } from './cli/backup';
import { CliEnv, CliFailure } from './cli/context';
import { registerLogsCommands } from './cli/logs';
import { registerMigrateCommands } from './cli/migrate';
import { registerSettingsCommands } from './cli/settings';
import { registerTransferCommands } from './cli/transfer';
import { registerTokensCommands, registerUsersCommands } from './cli/users';
import { reportStartupError } from './preflight';

export function buildProgram(env: CliEnv = process.env): Command {
  const program = new Command('kiroku')
    .description('Kiroku: self-hosted Markdown notes. Operator commands.')
    .version(APP_VERSION)
    .showHelpAfterError()
    .exitOverride()
    .hook('preAction', (_program, action) => refuseUnsafeArguments(action));
  // The order of registration is the order `kiroku --help` lists the commands in.
  registerSettingsCommands(program, env);
  registerMigrateCommands(program, env);
  registerUsersCommands(program, env);
  registerBackupCommands(program, env);
  registerLogsCommands(program, env);
  registerAlertCommands(program, env);
  registerTransferCommands(program, env);
  registerTokensCommands(program, env);
  return program;
}

export async function runCli(argv: string[], env: CliEnv = process.env): Promise<number> {
  try {
    await buildProgram(env).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode; // commander printed help or the usage error
    if (error instanceof CliFailure) {
      process.stderr.write(`kiroku: ${error.message}\n`);
      return 1;
    }
    return reportStartupError(error, 'command');
  }
}

if (require.main === module) {
  // `kiroku backup list | head -1` closes the pipe early: that is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    // runCli reports its own failures; should reporting one throw, still one line and a failure code, not a stack trace.
    (error: unknown) => {
      process.stderr.write(`kiroku: command failed: ${error instanceof Error ? error.message : 'unexpected error'}\n`);
      process.exitCode = 1;
    },
  );
}
