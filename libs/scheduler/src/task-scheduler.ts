import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { Clock } from '@kiroku/clock';
import { Lease, LeaseService } from '@kiroku/persistence';
import { slotFor } from './slot';

export interface TaskContext {
  /** The scheduled time this run belongs to. */
  slot: Date;
  /** Aborted when the lease is lost or the instance shuts down: stop at the next safe point. */
  signal: AbortSignal;
}

export interface ScheduledTask {
  /** Stable id: the lease key (`prune-sessions`). */
  id: string;
  /** Five-field cron expression, UTC; or */
  cron?: string;
  /** a fixed period: slots are multiples of it since the epoch (for ticks shorter than a minute, or set by a duration setting). */
  everyMs?: number;
  /** How long a run may hold its slot before renewing; renewed every third of it while running. */
  leaseMs: number;
  run(context: TaskContext): Promise<void>;
}

export type RunOutcome = 'succeeded' | 'failed' | 'skipped';

/** At shutdown, how long running tasks get to stop after being told to. */
const SHUTDOWN_GRACE_MS = 5000;

/**
 * Every replica ticks every task; each tick claims the slot (task id plus the
 * scheduled time, not "now") through the lease table, so exactly one replica
 * runs each slot. Long runs renew their lease; a crashed holder's lease
 * expires and the slot can be taken over.
 */
@Injectable()
export class TaskScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Scheduler');
  private readonly tasks = new Map<string, ScheduledTask>();
  private readonly running = new Set<AbortController>();
  private readonly runs = new Set<Promise<RunOutcome>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private started = false;
  private stopping = false;

  constructor(
    private readonly leases: LeaseService,
    private readonly clock: Clock,
    private readonly registry: SchedulerRegistry,
  ) {}

  register(task: ScheduledTask): void {
    if (this.tasks.has(task.id)) throw new Error(`task ${task.id} registered twice`);
    if (!task.cron === !task.everyMs) throw new Error(`task ${task.id} needs exactly one of cron and everyMs`);
    this.tasks.set(task.id, task);
    if (this.started) this.schedule(task);
  }

  onApplicationBootstrap(): void {
    this.started = true;
    for (const task of this.tasks.values()) this.schedule(task);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    for (const name of this.registry.getCronJobs().keys()) if (this.tasks.has(name)) await this.registry.getCronJob(name).stop();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const controller of this.running) controller.abort();
    // Let aborted runs reach their next safe point and record their outcome (a notification sent, say) while the
    // database is still open; a run that does not stop within the grace is left to be taken over.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.runs]), new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS)))]);
    clearTimeout(timer);
  }

  /** Claims and runs the slot `at` belongs to; tests and operators call it directly. */
  async runSlot(taskId: string, at: Date = this.clock.now()): Promise<RunOutcome> {
    const task = this.tasks.get(taskId);
    if (!task) throw new Error(`no task ${taskId}`);
    const slot = task.everyMs ? new Date(Math.floor(at.getTime() / task.everyMs) * task.everyMs) : slotFor(task.cron!, at);
    const lease = await this.leases.claim(task.id, slot.toISOString(), task.leaseMs);
    if (!lease) return 'skipped';
    const run = this.execute(task, lease, slot);
    this.runs.add(run);
    const forget = () => void this.runs.delete(run);
    run.then(forget, forget); // the caller handles the outcome (or the rejection) of `run` itself
    return run;
  }

  private schedule(task: ScheduledTask): void {
    const tick = () => {
      this.runSlot(task.id).catch((error: Error) => this.logger.error(`task ${task.id} could not be claimed: ${error.message}`));
    };
    if (task.everyMs) {
      // Ticks on the period's boundaries (real time), so replicas tick together and each slot is claimed once.
      const every = task.everyMs;
      const next = () => {
        if (this.stopping) return;
        const timer = setTimeout(
          () => {
            this.timers.delete(timer);
            tick();
            next();
          },
          every - (Date.now() % every) + 5,
        );
        timer.unref();
        this.timers.add(timer);
      };
      next();
      return;
    }
    const job = CronJob.from({ cronTime: task.cron!, timeZone: 'UTC', start: true, onTick: tick });
    this.registry.addCronJob(task.id, job);
  }

  private async execute(task: ScheduledTask, lease: Lease, slot: Date): Promise<RunOutcome> {
    const controller = new AbortController();
    this.running.add(controller);
    const renew = setInterval(
      () => {
        this.leases.renew(lease, task.leaseMs).then(
          (held) => held || controller.abort(new Error('lease lost')),
          () => undefined, // a database blip: try again at the next renewal
        );
      },
      Math.max(1000, Math.floor(task.leaseMs / 3)),
    );
    renew.unref();
    const started = this.clock.nowMs();
    try {
      await task.run({ slot, signal: controller.signal });
      await this.leases.complete(lease, 'succeeded');
      this.logger.log({ task: task.id, slot: slot.toISOString(), outcome: 'succeeded', durationMs: this.clock.nowMs() - started });
      return 'succeeded';
    } catch (error) {
      if (controller.signal.aborted) {
        // Shutting down or lease lost: leave the slot to be taken over.
        await this.leases.release(lease).catch(() => undefined);
        this.logger.warn({ task: task.id, slot: slot.toISOString(), outcome: 'interrupted' });
        return 'failed';
      }
      await this.leases.complete(lease, 'failed').catch(() => undefined);
      this.logger.error({ task: task.id, slot: slot.toISOString(), outcome: 'failed', err: error });
      return 'failed';
    } finally {
      clearInterval(renew);
      this.running.delete(controller);
    }
  }
}
