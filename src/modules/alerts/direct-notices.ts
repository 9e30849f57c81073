import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { AlertConfig, AppConfig } from '@kiroku/config';
import { Alert } from './alert.entity';
import { DIRECT_RULES, DirectRuleId } from './alert-rules';
import { headline, Notifiers } from './notifiers';

export interface DirectNotice {
  rule: DirectRuleId;
  /** firing: it happened (or is happening); resolved: it is over. */
  kind: 'firing' | 'resolved';
  summary: string;
  /** When it began. */
  since: Date;
  /** Which instance; this one (host:port) by default. */
  subject?: string;
}

/** Attempts per channel, and the wait before the second (doubling): a notice must not wait for the database. */
const ATTEMPTS = 3;

/**
 * Tells an alert straight from memory to every configured channel, for what the database cannot carry: it is
 * down, or this process has just come back from a crash. Nothing is written to the outbox; each channel is tried
 * a few times now, and what still fails is logged (the heartbeat's silence and the Prometheus rules are the other
 * ways such an outage is heard). Also used by `kiroku alert notify`, without any database at all.
 */
@Injectable()
export class DirectNotices {
  private readonly logger = new Logger('Alerts');

  constructor(
    private readonly notifiers: Notifiers,
    private readonly clock: Clock,
    private readonly app: AppConfig,
    private readonly config: AlertConfig,
  ) {}

  /** This instance as alerts name it. */
  get address(): string {
    return `${hostname()}:${this.app.port}`;
  }

  /** Sends the notice; resolves to the channels that took it (an empty list: none configured, or none answered). */
  async send(notice: DirectNotice, retryMs = 1000): Promise<string[]> {
    const now = this.clock.now();
    const alert: Alert = {
      id: randomUUID(),
      rule: notice.rule,
      subject: notice.subject ?? this.address,
      severity: DIRECT_RULES[notice.rule].severity,
      status: notice.kind,
      openKey: null,
      summary: notice.summary,
      pendingSince: notice.since,
      firedAt: notice.since,
      clearSince: null,
      resolvedAt: notice.kind === 'resolved' ? now : null,
      lastNotifiedAt: now,
    };
    const message = { kind: notice.kind, alert };
    const line = { msg: headline(message), rule: alert.rule, subject: alert.subject, summary: alert.summary, direct: true };
    if (notice.kind === 'resolved') this.logger.log(line);
    else this.logger.warn(line);
    const delivered: string[] = [];
    await Promise.all(
      this.notifiers.channels().map(async (channel) => {
        for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
          try {
            await this.notifiers.send(channel, message);
            delivered.push(channel);
            return;
          } catch (error) {
            if (attempt === ATTEMPTS)
              this.logger.error(`${headline(message)}: not delivered by ${channel} after ${ATTEMPTS} attempts: ${(error as Error).message}`);
            else await new Promise((resolve) => setTimeout(resolve, retryMs * 2 ** (attempt - 1)));
          }
        }
      }),
    );
    if (!this.notifiers.channels().length && !this.config.heartbeatUrl)
      this.logger.error(`${headline(message)}: no alert channel is configured, nobody is told`);
    return delivered;
  }
}
