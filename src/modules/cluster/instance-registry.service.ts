import { hostname } from 'node:os';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { AppConfig } from '@kiroku/config';
import { Database, INSTANCE_ID } from '@kiroku/persistence';
import { IsNull, MoreThan } from 'typeorm';
import { APP_VERSION } from '../../app-info';
import { Instance } from './instance.entity';

/** True when a process with this pid exists on this host. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Each instance records itself and heartbeats, so that the console and the
 * alerts know who is alive, and an instance on SQLite can tell that another
 * process already uses the same database file.
 */
@Injectable()
export class InstanceRegistry {
  private readonly logger = new Logger(InstanceRegistry.name);
  private timer?: NodeJS.Timeout;
  private registered = false;
  private readonly startedAt: Date;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly app: AppConfig,
    @Inject(INSTANCE_ID) readonly instanceId: string,
  ) {
    this.startedAt = clock.now();
  }

  /** Registers this instance and heartbeats every HEARTBEAT_INTERVAL until stop(). */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.app.heartbeatIntervalMs);
    this.timer.unref();
  }

  /** Records a graceful stop: the instance-down alert must not fire for it. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (!this.registered) return;
    await this.db.transaction((m) => m.update(Instance, { id: this.instanceId }, { stoppedAt: this.clock.now() })).catch((error: Error) => {
      this.logger.warn(`could not record the stop of ${this.instanceId}: ${error.message}`);
    });
  }

  /** Heartbeat; registers first when needed (a database that was down at start, or not yet migrated). */
  async beat(): Promise<void> {
    const now = this.clock.now();
    try {
      if (this.registered) {
        await this.db.transaction((m) => m.update(Instance, { id: this.instanceId }, { heartbeatAt: now }));
        return;
      }
      await this.db.transaction((m) => m.insert(Instance, {
        id: this.instanceId, hostname: hostname(), pid: process.pid, version: APP_VERSION,
        engine: this.db.engine, startedAt: this.startedAt, heartbeatAt: now, stoppedAt: null,
      }));
      this.registered = true;
    } catch (error) {
      this.logger.warn(`heartbeat failed: ${(error as Error).message}`);
    }
  }

  /** Instances that heartbeat within INSTANCE_STALE_AFTER and have not stopped. */
  async live(): Promise<Instance[]> {
    const since = new Date(this.clock.nowMs() - this.app.instanceStaleAfterMs);
    return this.repo().find({ where: { stoppedAt: IsNull(), heartbeatAt: MoreThan(since) }, order: { startedAt: 'ASC' } });
  }

  /**
   * On SQLite, a live process that was using the same database file before
   * this one started, if any: the newcomer steps back, the incumbent keeps
   * serving. A row left by a crashed process on this host is ignored once its
   * pid is gone.
   */
  async sqliteRival(): Promise<Instance | null> {
    if (this.db.engine !== 'sqlite') return null;
    const me = hostname();
    const earlier = (i: Instance) =>
      i.startedAt < this.startedAt || (i.startedAt.getTime() === this.startedAt.getTime() && i.id < this.instanceId);
    const others = (await this.live()).filter((i) => i.id !== this.instanceId && earlier(i));
    return others.find((i) => i.hostname !== me || (i.pid !== process.pid && processAlive(i.pid))) ?? null;
  }

  private repo() {
    return this.db.manager.getRepository(Instance);
  }
}
