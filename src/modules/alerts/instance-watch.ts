import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { AlertConfig, AppConfig, DatabaseConfig, LogConfig } from '@kiroku/config';
import { Database } from '@kiroku/persistence';
import { Machine } from '@kiroku/supervisor';
import { DirectNotices } from './direct-notices';

const PING_TIMEOUT_MS = 5000;

/**
 * Every ALERT_EVAL_INTERVAL, each machine (its leader) asks the database for `SELECT 1`. The first failure tells
 * the alert channels straight from memory, once per outage per instance; the first success after it tells that
 * the database is back. The rules cannot run while the database is down, and their outbox lives in it: this is how
 * an outage of the database itself is heard, by every instance that sees it.
 */
@Injectable()
export class DatabaseWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private inflight: Promise<void> = Promise.resolve();
  /** Since when, and why, the database has not answered; null while it does. */
  private down: { since: Date; reason: string } | null = null;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly config: AlertConfig,
    private readonly machine: Machine,
    private readonly notices: DirectNotices,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.machine.leader) return;
    this.timer = setInterval(() => {
      this.inflight = this.check();
    }, this.config.evalIntervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.inflight;
  }

  /** One look at the database; tells the channels when it stops or starts answering. */
  async check(): Promise<void> {
    try {
      await this.db.ping(PING_TIMEOUT_MS);
    } catch (error) {
      if (this.down) return; // told already: once per outage
      this.down = { since: this.clock.now(), reason: (error as Error).message };
      await this.notices.send({
        rule: 'database-down',
        kind: 'firing',
        since: this.down.since,
        summary: `${this.notices.address} cannot reach the ${this.db.engine === 'postgres' ? 'PostgreSQL' : 'SQLite'} database: ${this.down.reason}. Requests that need it fail (503), readiness is false; alerts and samples wait until it is back.`,
      });
      return;
    }
    if (!this.down) return;
    const { since } = this.down;
    this.down = null;
    const minutes = Math.max(1, Math.round((this.clock.nowMs() - since.getTime()) / 60_000));
    await this.notices.send({
      rule: 'database-down',
      kind: 'resolved',
      since,
      summary: `${this.notices.address} reaches the database again, after about ${minutes} min`,
    });
  }
}

interface LifeMark {
  pid: number;
  startedAt: string;
  /** The last time the process showed life (written every HEARTBEAT_INTERVAL). */
  aliveAt: string;
  /** When this machine last sent an unclean-stop notice: a crash loop is told once an hour, not at every restart. */
  toldAt?: string;
}

const TELL_AGAIN_AFTER_MS = 60 * 60_000;

/**
 * A lone instance killed (kill -9, out of memory, power loss) leaves nobody to notice: no other replica sees its
 * heartbeat stop. So each machine keeps a mark file while it runs (beside the SQLite file, `.kiroku.sqlite.running.json`,
 * or in LOG_DIR per port, `.kiroku-running-8888.json`) and
 * removes it when it stops cleanly; a start that finds the mark of a process that is gone says "restarted after an
 * unclean stop", with when it last showed life. Containers without a folder of their own keep no mark: the
 * orchestrator counts their restarts (the Prometheus rules watch them).
 */
@Injectable()
export class UncleanStopWatch implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Alerts');
  private timer?: NodeJS.Timeout;
  private mark?: LifeMark;
  /** The previous run's mark, when its unclean stop is still to be told. */
  private untold?: LifeMark;
  readonly path: string | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly app: AppConfig,
    database: DatabaseConfig,
    log: LogConfig,
    private readonly machine: Machine,
    private readonly notices: DirectNotices,
  ) {
    // SQLite: one machine per database file, so the mark belongs to the file (a changed PORT keeps it). PostgreSQL:
    // instances of one VM share LOG_DIR, and each systemd unit keeps its port.
    if (database.engine === 'sqlite') this.path = join(dirname(database.path), `.${basename(database.path)}.running.json`);
    else this.path = log.dir ? join(log.dir, `.kiroku-running-${app.port}.json`) : undefined;
  }

  /** Before anything can answer (readiness included): a kill right after the start still finds the mark. */
  onModuleInit(): void {
    if (!this.machine.leader || !this.path) return;
    const previous = this.read();
    // Another machine on this file (it is refused the SQLite file, see SingleInstance): its mark stays its own.
    if (previous && previous.pid !== process.pid && alive(previous.pid)) return;
    const now = this.clock.now();
    this.mark = { pid: process.pid, startedAt: now.toISOString(), aliveAt: now.toISOString(), toldAt: previous?.toldAt };
    if (previous && previous.pid !== process.pid) {
      const recentlyTold = previous.toldAt && now.getTime() - Date.parse(previous.toldAt) < TELL_AGAIN_AFTER_MS;
      if (recentlyTold) {
        this.logger.warn(`restarted after an unclean stop again (last seen ${previous.aliveAt}); told at ${previous.toldAt}, not again within the hour`);
      } else {
        this.mark.toldAt = now.toISOString();
        this.untold = previous;
      }
    }
    this.write();
    this.timer = setInterval(() => {
      this.mark!.aliveAt = this.clock.now().toISOString();
      this.write();
    }, this.app.heartbeatIntervalMs);
    this.timer.unref();
  }

  /** The notice goes once the application is up (its channels need nothing else). */
  async onApplicationBootstrap(): Promise<void> {
    const previous = this.untold;
    if (!previous) return;
    this.untold = undefined;
    await this.notices.send({
      rule: 'unclean-stop',
      kind: 'firing',
      since: new Date(previous.aliveAt),
      summary:
        `${this.notices.address} restarted after an unclean stop: the previous run (pid ${previous.pid}, started ${previous.startedAt}) ` +
        `last showed life at ${previous.aliveAt} and never stopped cleanly (killed, out of memory, or the machine lost power). ` +
        `Its log says what it was doing; requests in flight then were lost.`,
    });
  }

  /** A clean stop: the mark goes, so the next start has nothing to tell. */
  onApplicationShutdown(): void {
    clearInterval(this.timer);
    if (this.mark && this.path) rmSync(this.path, { force: true });
  }

  private read(): LifeMark | null {
    try {
      const mark = JSON.parse(readFileSync(this.path!, 'utf8')) as LifeMark;
      return typeof mark.pid === 'number' && typeof mark.aliveAt === 'string' ? mark : null;
    } catch {
      return null; // none, or unreadable: nothing to tell
    }
  }

  /** Whole or not at all: a crash while writing leaves the previous mark. */
  private write(): void {
    try {
      mkdirSync(dirname(this.path!), { recursive: true });
      writeFileSync(`${this.path}.tmp`, JSON.stringify(this.mark));
      renameSync(`${this.path}.tmp`, this.path!);
    } catch (error) {
      this.logger.warn(`could not keep the running mark ${this.path}: ${(error as Error).message}`);
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
