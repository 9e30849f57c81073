import { Command } from 'commander';
import { textProblem } from '../modules/web';
import { CliFailure } from './context';

/** Longer than any path, URL or name a command takes. */
const ARGUMENT_RULE = { max: 4096 };

/**
 * The text rule (web/rules.ts) on every argument and option value of the command about to run, whatever the
 * command, so a new one is covered too: `kiroku users create --name $'a\x85'` is refused naming `--name`, before
 * anything is read or written.
 */
export function refuseUnsafeArguments(command: Command): void {
  const values: Array<[string, unknown]> = [
    ...command.options.map((option): [string, unknown] => [option.long ?? option.flags, command.getOptionValue(option.attributeName())]),
    ...command.registeredArguments.map((argument, i): [string, unknown] => [`<${argument.name()}>`, command.processedArgs[i]]),
  ];
  for (const [name, value] of values) {
    for (const item of Array.isArray(value) ? (value as unknown[]) : [value]) {
      if (typeof item !== 'string') continue;
      const problem = textProblem(item, ARGUMENT_RULE);
      if (problem) throw new CliFailure(`${name} ${problem.message}`);
    }
  }
}
