import { hostname } from 'node:os';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { AppConfig, APP_VERSION } from '@kiroku/config';
import { Database, INSTANCE_ID } from '@kiroku/persistence';
import { Machine } from '@kiroku/supervisor';
import { IsNull, LessThan, MoreThan } from 'typeorm';
import { FORGET_INSTANCE_AFTER_MS, Instance, instanceState, InstanceState } from './instance.entity';

/**
 * Each instance (a machine: one process, or a primary and its workers)
 * records itself and heartbeats, so that the console and the alerts know who
 * is alive. Of a machine's workers, the leader (worker 0) writes the row, with
 * how many workers serve. On SQLite the machine holds the database file's
 * lock (see Machine): a second machine on the same file is not ready.
 */
@Injectable()
export class InstanceRegistry {
  private readonly logger = new Logger(InstanceRegistry.name);
  private timer?: NodeJS.Timeout;
  private registered = false;
  private inflight: Promise<void> = Promise.resolve();
  private readonly startedAt: Date;
  /** Set by the health module: why this instance is not ready, or null when it is. */
  readinessProbe?: () => Promise<string | null>;
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly app: AppConfig,
    private readonly machine: Machine,
    @Inject(INSTANCE_ID) readonly instanceId: string,
  ) {
    this.startedAt = clock.now();
  }

  /**
   * Whether this machine may serve the database. Always on PostgreSQL; on
   * SQLite only while it holds the file lock (taken again when the previous
   * holder has stopped since).
   */
  servesDatabase(): boolean {
    return this.machine.servesDatabase();
  }

  /** host:port: how alerts and the console name this process (stable across restarts, unlike the id). */
  get address(): string {
    return `${hostname()}:${this.app.port}`;
  }

  /** Registers this instance and heartbeats every HEARTBEAT_INTERVAL until stop(); the leader's work only. */
  async start(): Promise<void> {
    if (!this.machine.leader) return;
    this.inflight = this.beat();
    await this.inflight;
    this.timer = setInterval(() => {
      this.inflight = this.beat();
    }, this.app.heartbeatIntervalMs);
    this.timer.unref();
  }

  /** Records a graceful stop: the instance-down alert must not fire for it. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.inflight; // a registration in flight must land before the stop is recorded
    if (!this.registered) return;
    await this.db
      .transaction((m) => m.update(Instance, { id: this.instanceId }, { stoppedAt: this.clock.now() }))
      .catch((error: Error) => {
        this.logger.warn(`could not record the stop of ${this.instanceId}: ${error.message}`);
      });
  }

  /**
   * Heartbeat; registers first when needed (a database that was down at start,
   * or not yet migrated). A leader restarted by its primary finds its machine's
   * row and carries on with it.
   */
  async beat(): Promise<void> {
    const readiness = await this.readiness();
    const now = this.clock.now(); // after the probe: a slow probe must not stamp an old time
    const workers = Math.max(1, this.machine.state().up);
    try {
      if (this.registered) {
        await this.db.transaction((m) => m.update(Instance, { id: this.instanceId }, { heartbeatAt: now, workers, ...readiness }));
        return;
      }
      await this.db.transaction(async (m) => {
        const row = { heartbeatAt: now, stoppedAt: null, pid: this.machine.pid, workers, ...readiness };
        const found = await m.update(Instance, { id: this.instanceId }, row);
        if (found.affected) return;
        await m.insert(Instance, {
          ...row,
          id: this.instanceId,
          hostname: hostname(),
          address: this.address,
          version: APP_VERSION,
          engine: this.db.engine,
          startedAt: this.startedAt,
        });
      });
      this.registered = true;
    } catch (error) {
      this.logger.warn(`heartbeat failed: ${(error as Error).message}`);
    }
  }

  private async readiness(): Promise<Pick<Instance, 'ready' | 'notReadyReason'>> {
    if (!this.readinessProbe) return { ready: null, notReadyReason: null };
    try {
      const reason = await this.readinessProbe();
      return { ready: reason === null ? 1 : 0, notReadyReason: reason?.slice(0, 300) ?? null };
    } catch (error) {
      return { ready: 0, notReadyReason: (error as Error).message.slice(0, 300) };
    }
  }

  /** Instances that heartbeat within INSTANCE_STALE_AFTER and have not stopped. */
  async live(): Promise<Instance[]> {
    const since = new Date(this.clock.nowMs() - this.app.instanceStaleAfterMs);
    return this.repo().find({ where: { stoppedAt: IsNull(), heartbeatAt: MoreThan(since) }, order: { startedAt: 'ASC' } });
  }

  /**
   * Every process heard from in the last day, newest first, with its state:
   * `live`, `stopped` (gracefully) or `missing` (no heartbeat, no stop).
   */
  async recent(): Promise<Array<Instance & { state: InstanceState; uptimeMs: number }>> {
    const now = this.clock.nowMs();
    const rows = await this.repo().find({ where: { heartbeatAt: MoreThan(new Date(now - FORGET_INSTANCE_AFTER_MS)) }, order: { startedAt: 'DESC' }, take: 50 });
    return rows.map((i) => {
      const state = instanceState(i, now, this.app.instanceStaleAfterMs);
      const until = state === 'live' ? now : (i.stoppedAt ?? i.heartbeatAt).getTime();
      return { ...i, state, uptimeMs: until - i.startedAt.getTime() };
    });
  }

  /**
   * An operator says a missing instance is gone for good (a replaced pod, a
   * retired machine): it is recorded as stopped, so its instance-down alert
   * resolves. Only missing instances qualify; returns whether one did.
   */
  async forget(id: string): Promise<boolean> {
    const staleBefore = new Date(this.clock.nowMs() - this.app.instanceStaleAfterMs);
    const result = await this.db.transaction((m) =>
      m.update(Instance, { id, stoppedAt: IsNull(), heartbeatAt: LessThan(staleBefore) }, { stoppedAt: this.clock.now() }),
    );
    return result.affected === 1;
  }

  /** The live instance most likely holding the SQLite lock, to name it in the readiness reason. */
  async likelyHolder(): Promise<Instance | null> {
    return (await this.live()).find((i) => i.id !== this.instanceId) ?? null;
  }

  private repo() {
    return this.db.manager.getRepository(Instance);
  }
}
