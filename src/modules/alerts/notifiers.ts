import { Injectable } from '@nestjs/common';
import { AlertConfig, AppConfig } from '@kiroku/config';
import type * as Nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type { Alert } from './alert.entity';
import type { Channel, NotificationKind } from './alert-notification.entity';
import { DIRECT_RULES, DirectRuleId, RULES, RuleId } from './alert-rules';

const SEND_TIMEOUT_MS = 10_000;

export interface Message {
  kind: NotificationKind;
  alert: Alert;
}

/** The one-line headline every channel leads with. */
export function headline({ kind, alert }: Message): string {
  const label = kind === 'resolved' ? 'RESOLVED' : kind === 'reminder' ? 'STILL FIRING' : 'FIRING';
  const title = RULES[alert.rule as RuleId]?.title ?? DIRECT_RULES[alert.rule as DirectRuleId]?.title ?? alert.rule;
  return `[${label}] Kiroku ${alert.severity}: ${title} — ${alert.subject}`;
}

/** One e-mail: plain text, from ALERT_EMAIL_FROM. */
export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/**
 * The one SMTP transport (SMTP_URL), shared by alert e-mails and the admin pages' invitations and password links.
 * The SMTP URL carries credentials: it never appears in an error or a log line.
 */
@Injectable()
export class Mailer {
  private transport?: Transporter;

  constructor(private readonly config: AlertConfig) {}

  /** Whether SMTP_URL is set. */
  get configured(): boolean {
    return !!this.config.smtpUrl;
  }

  async send(mail: Mail): Promise<void> {
    // nodemailer is loaded only where e-mail is configured (~10 MiB resident otherwise spent for nothing).
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
    this.transport ??= (require('nodemailer') as typeof Nodemailer).createTransport({
      url: this.config.smtpUrl!,
      connectionTimeout: SEND_TIMEOUT_MS,
      greetingTimeout: SEND_TIMEOUT_MS,
      socketTimeout: SEND_TIMEOUT_MS,
    });
    try {
      await this.transport.sendMail({ from: this.config.emailFrom, ...mail });
    } catch (error) {
      const e = error as { code?: string; responseCode?: number; message: string };
      throw new Error(`mail server refused or unreachable: ${e.code ?? ''}${e.responseCode ? ` ${e.responseCode}` : ''}`.trim(), { cause: error });
    }
  }
}

/**
 * The configured channels. The webhook body is `{ text, kiroku }`: Slack and
 * Microsoft Teams incoming webhooks show `text`; other receivers read the
 * structured `kiroku` object. Neither the webhook URL nor the SMTP URL (both
 * carry credentials) ever appears in an error or a log line.
 */
@Injectable()
export class Notifiers {
  constructor(
    private readonly config: AlertConfig,
    private readonly app: AppConfig,
    private readonly mailer: Mailer,
  ) {}

  channels(): Channel[] {
    return [...(this.config.webhookUrl ? ['webhook' as const] : []), ...(this.config.emailTo?.length && this.config.smtpUrl ? ['email' as const] : [])];
  }

  async send(channel: Channel, message: Message): Promise<void> {
    if (channel === 'webhook') return this.webhook(message);
    return this.email(message);
  }

  private consoleUrl(): string {
    return new URL('/admin/alerts', this.app.publicUrl).toString();
  }

  private details({ kind, alert }: Message) {
    return {
      status: kind === 'resolved' ? 'resolved' : 'firing',
      kind,
      rule: alert.rule,
      severity: alert.severity,
      subject: alert.subject,
      summary: alert.summary,
      startsAt: (alert.firedAt ?? alert.pendingSince).toISOString(),
      endsAt: alert.resolvedAt?.toISOString() ?? null,
      url: this.consoleUrl(),
    };
  }

  private async webhook(message: Message): Promise<void> {
    const body = { text: `${headline(message)}\n${message.alert.summary}\n${this.consoleUrl()}`, kiroku: this.details(message) };
    let response: Response;
    try {
      response = await fetch(this.config.webhookUrl!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
        redirect: 'error',
      });
    } catch (error) {
      // fetch's messages do not include the URL; its cause (ECONNREFUSED, timeout) says what went wrong.
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`webhook unreachable: ${cause?.code ?? cause?.message ?? (error as Error).name}`, { cause: error });
    }
    await response.body?.cancel();
    if (!response.ok) throw new Error(`webhook answered ${response.status}`);
  }

  private async email(message: Message): Promise<void> {
    const d = this.details(message);
    await this.mailer.send({
      to: this.config.emailTo!.join(', '),
      subject: headline(message),
      text: [
        message.alert.summary,
        '',
        `Rule: ${d.rule} (${d.severity})`,
        `Subject: ${d.subject}`,
        `Since: ${d.startsAt}`,
        ...(d.endsAt ? [`Resolved: ${d.endsAt}`] : []),
        '',
        d.url,
      ].join('\n'),
    });
  }
}
