import { Command } from 'commander';
import { checkDeployment, describeConfig, formatFinding, loadConfig } from '@kiroku/config';

import { CliEnv, CliFailure, out } from './context';

/** `kiroku check` and `kiroku config`: the settings, read without a database. */
export function registerSettingsCommands(program: Command, env: CliEnv): void {
  program
    .command('check')
    .description('list production-readiness findings for the current settings; exit 1 if any is an error')
    .action(() => check(env));
  program
    .command('config')
    .description('print the effective settings, secrets redacted')
    .action(() => printConfig(env));
}

function check(env: CliEnv): void {
  const findings = checkDeployment(loadConfig({ env }));
  if (findings.length === 0) out('No findings: the settings are production-ready.');
  for (const f of findings) out(formatFinding(f));
  const errors = findings.filter((f) => f.level === 'error').length;
  if (errors > 0) {
    out();
    throw new CliFailure(`${errors} error-level finding(s): production start-up would be refused`);
  }
}

function printConfig(env: CliEnv): void {
  for (const s of describeConfig(loadConfig({ env }))) {
    out(`${s.name}=${s.value === undefined ? '' : Array.isArray(s.value) ? s.value.join(',') : String(s.value)}`);
  }
}
