import { Logger } from '@nestjs/common';
import { Command } from 'commander';
import { SystemClock } from '@kiroku/clock';
import { loadConfig } from '@kiroku/config';

import { DIRECT_RULES, DirectNotices, type DirectRuleId, Mailer, Notifiers } from '../modules/alerts';
import { CliEnv, CliFailure, out } from './context';

/**
 * `kiroku alert notify`: tells the configured alert channels without the database (nor the server): systemd's
 * OnFailure= runs it when the service fails, so a crash loop is heard even when Kiroku never comes up.
 */
export function registerAlertCommands(program: Command, env: CliEnv): void {
  const alert = program.command('alert').description('alert channels, without the database');
  alert
    .command('notify')
    .description('send a notice to every configured channel (webhook, e-mail), straight away; exit 1 if none took it')
    .requiredOption('--summary <text>', 'what happened, and what to do')
    .option('--rule <rule>', `what kind of notice: ${Object.keys(DIRECT_RULES).join(', ')}`, 'service-failed')
    .option('--subject <name>', 'which instance or service (default: this host:PORT)')
    .option('--resolved', 'it is over (a resolve notice)')
    .action((options: { summary: string; rule: string; subject?: string; resolved?: boolean }) => notify(env, options));
}

async function notify(env: CliEnv, options: { summary: string; rule: string; subject?: string; resolved?: boolean }): Promise<void> {
  if (!(options.rule in DIRECT_RULES)) throw new CliFailure(`--rule must be one of ${Object.keys(DIRECT_RULES).join(', ')} (got "${options.rule}")`);
  const config = loadConfig({ env });
  Logger.overrideLogger(['error']); // the outcome is printed below; a channel that failed is said on stderr
  const clock = new SystemClock();
  const notifiers = new Notifiers(config.alert, config.app, new Mailer(config.alert));
  const notices = new DirectNotices(notifiers, clock, config.app, config.alert);
  const channels = notifiers.channels();
  if (!channels.length) throw new CliFailure('no alert channel is configured: set ALERT_WEBHOOK_URL, or ALERT_EMAIL_TO with SMTP_URL');
  const delivered = await notices.send({
    rule: options.rule as DirectRuleId,
    kind: options.resolved ? 'resolved' : 'firing',
    summary: options.summary,
    since: clock.now(),
    subject: options.subject,
  });
  for (const channel of channels) out(`${channel}: ${delivered.includes(channel) ? 'sent' : 'NOT sent (see the line above)'}`);
  if (!delivered.length) throw new CliFailure('no channel took the notice');
}
