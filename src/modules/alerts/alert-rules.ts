import { Injectable } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { AlertConfig, AppConfig, MetricsConfig } from '@kiroku/config';
import { Database } from '@kiroku/persistence';
import { MoreThan } from 'typeorm';
import { BackupService } from '../backup';
import { FORGET_INSTANCE_AFTER_MS, Instance, instanceState } from '../cluster';
import { MetricSample } from '../metrics';
import type { Severity } from './alert.entity';

/** One rule's verdict for one subject at one evaluation. */
export interface Condition {
  rule: RuleId;
  subject: string;
  severity: Severity;
  holds: boolean;
  /** What a person needs to know, for the notification and the console. */
  summary: string;
}

export const RULES = {
  'instance-down': { severity: 'critical', title: 'Instance down' },
  'error-rate': { severity: 'critical', title: 'Error rate high' },
  'disk-critical': { severity: 'critical', title: 'Disk almost full' },
  'disk-warning': { severity: 'warning', title: 'Disk filling up' },
  'backup-stale': { severity: 'critical', title: 'No recent backup' },
  'backup-failing': { severity: 'warning', title: 'Backup failing' },
  'log-emergency': { severity: 'critical', title: 'Log disk emergency' },
} as const satisfies Record<string, { severity: Severity; title: string }>;
export type RuleId = keyof typeof RULES;

const pct = (permille: number) => `${(permille / 10).toFixed(1)}%`;
/** A threshold setting as people write it: 80%, 5%, 0.1%. */
const share = (fraction: number) => `${+(fraction * 100).toFixed(2)}%`;
const ago = (ms: number) =>
  ms < 120_000 ? `${Math.round(ms / 1000)} s` : ms < 7_200_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`;

/**
 * The built-in rules, read from the shared tables (instances, metric samples,
 * the backup catalog) so that any one replica sees the whole deployment. Each
 * returns the subjects whose condition holds, and for subjects it can still
 * see, those whose condition does not (so that open alerts can resolve).
 */
@Injectable()
export class AlertRules {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly app: AppConfig,
    private readonly metrics: MetricsConfig,
    private readonly alert: AlertConfig,
    private readonly backups: BackupService,
  ) {}

  async conditions(): Promise<Condition[]> {
    const now = this.clock.nowMs();
    const instances = await this.db.manager.find(Instance, {
      where: { heartbeatAt: MoreThan(new Date(now - FORGET_INSTANCE_AFTER_MS)) },
      order: { startedAt: 'ASC' },
    });
    const live = instances.filter((i) => instanceState(i, now, this.app.instanceStaleAfterMs) === 'live');
    const samples = await this.db.manager.find(MetricSample, {
      where: { at: MoreThan(new Date(now - Math.max(this.alert.errorWindowMs, 3 * this.metrics.sampleIntervalMs))) },
    });
    return [
      ...this.instancesDown(instances, now),
      this.errorRate(samples, now),
      ...this.perInstance(live, samples, now),
      ...(await this.backupConditions(now)),
    ];
  }

  /** The newest process at each address that neither stopped gracefully nor heartbeats any more. */
  private instancesDown(instances: Instance[], now: number): Condition[] {
    const newest = new Map<string, Instance>();
    for (const i of instances) newest.set(i.address || i.id, i); // ascending start: the last one wins
    return [...newest].map(([address, i]) => {
      const silent = now - i.heartbeatAt.getTime();
      return {
        rule: 'instance-down',
        subject: address,
        severity: RULES['instance-down'].severity,
        holds: instanceState(i, now, this.app.instanceStaleAfterMs) === 'missing',
        summary: `instance ${address} (pid ${i.pid}, version ${i.version}) has not heartbeaten for ${ago(silent)} and did not stop gracefully`,
      };
    });
  }

  /** 5xx share over ALERT_ERROR_WINDOW across all instances, once there are enough requests to mean something. */
  private errorRate(samples: MetricSample[], now: number): Condition {
    let requests = 0;
    let errors = 0;
    for (const s of samples) {
      if (s.at.getTime() <= now - this.alert.errorWindowMs) continue;
      requests += s.requests;
      errors += s.errors;
    }
    const rate = requests ? errors / requests : 0;
    return {
      rule: 'error-rate',
      subject: 'all instances',
      severity: RULES['error-rate'].severity,
      holds: requests >= this.alert.errorMinRequests && rate > this.alert.errorRate,
      summary: `${(rate * 100).toFixed(1)}% of ${requests} requests failed with a server error over the last ${ago(this.alert.errorWindowMs)} (threshold ${share(this.alert.errorRate)})`,
    };
  }

  /** Disk and log-emergency figures from each live instance's newest sample. */
  private perInstance(live: Instance[], samples: MetricSample[], now: number): Condition[] {
    const out: Condition[] = [];
    for (const instance of live) {
      const newest = samples
        .filter((s) => s.instanceId === instance.id && now - s.at.getTime() <= 3 * this.metrics.sampleIntervalMs)
        .sort((a, b) => b.at.getTime() - a.at.getTime())[0];
      if (!newest) continue;
      const address = instance.address || instance.id;
      for (const [volume, permille] of [
        ['data', newest.diskDataPermille],
        ['logs', newest.diskLogsPermille],
      ] as const) {
        if (permille === null) continue;
        for (const [rule, threshold] of [
          ['disk-critical', this.alert.diskCrit],
          ['disk-warning', this.alert.diskWarn],
        ] as const) {
          out.push({
            rule,
            subject: `${address} ${volume}`,
            severity: RULES[rule].severity,
            holds: permille / 1000 >= threshold,
            summary: `the ${volume} disk of ${address} is ${pct(permille)} full (${rule === 'disk-critical' ? 'critical' : 'warning'} at ${share(threshold)})`,
          });
        }
      }
      out.push({
        rule: 'log-emergency',
        subject: address,
        severity: RULES['log-emergency'].severity,
        holds: newest.logEmergency === 1,
        summary: `the log disk of ${address} is past ${share(this.alert.diskCrit)}: the log sweeper is deleting compressed logs before their retention`,
      });
    }
    return out;
  }

  private async backupConditions(now: number): Promise<Condition[]> {
    const status = await this.backups.status();
    const maxAge = this.alert.backupMaxAgeMs;
    let stale: Pick<Condition, 'holds' | 'summary'>;
    // Age is measured from the newest backup that passed verification: a stored backup that cannot be restored
    // (or that was never checked) does not make the backups current.
    const newest = status.newestVerifiedBackupAt;
    const unverifiedSince =
      status.lastSuccessAt && (!newest || status.lastSuccessAt > newest)
        ? `; newer backups are stored but not verified (the newest finished ${ago(now - status.lastSuccessAt.getTime())} ago)`
        : '';
    if (newest) {
      const age = now - newest.getTime();
      stale = { holds: age > maxAge, summary: `the newest verified backup was taken ${ago(age)} ago (alert after ${ago(maxAge)})${unverifiedSince}` };
    } else {
      // No verified backup yet: only a deployment that has been running for longer than the allowed age is late.
      const first = await this.db.manager.findOne(Instance, { where: {}, order: { startedAt: 'ASC' } });
      const running = first ? now - first.startedAt.getTime() : 0;
      stale = { holds: running > maxAge, summary: `no backup has passed verification yet, and Kiroku has been running for ${ago(running)}${unverifiedSince}` };
    }
    return [
      { rule: 'backup-stale', subject: 'backups', severity: RULES['backup-stale'].severity, ...stale },
      {
        rule: 'backup-failing',
        subject: 'backups',
        severity: RULES['backup-failing'].severity,
        holds: status.lastRunFailed,
        summary: status.lastVerifyFailed
          ? `the newest backup cannot be trusted: ${status.lastError ?? 'unknown error'}`
          : `the newest backup run failed: ${status.lastError ?? 'unknown error'}`,
      },
    ];
  }
}
