import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DatabaseConfig } from '@kiroku/config';
import { Database, LeaseService, Migrator } from '@kiroku/persistence';
import { Machine } from '@kiroku/supervisor';
import { InstanceRegistry } from './instance-registry.service';
import { Lifecycle } from './lifecycle';

/**
 * Start-up and shutdown order of a serving instance: migrate (MIGRATIONS=auto),
 * register, then report started; on SIGTERM fail readiness first, and once
 * requests have drained give leases back and record the stop. Of a machine's
 * workers, the leader (worker 0) does the once-per-start work (migrations,
 * planner statistics, the registry row); the others wait for it.
 */
@Injectable()
export class StartupService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Startup');
  private optimizer?: NodeJS.Timeout;

  constructor(
    private readonly config: DatabaseConfig,
    private readonly migrator: Migrator,
    private readonly registry: InstanceRegistry,
    private readonly lifecycle: Lifecycle,
    private readonly leases: LeaseService,
    private readonly db: Database,
    private readonly machine: Machine,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.machine.whenKnown();
    if (!this.machine.leader) {
      await this.machine.whenPrepared();
    } else {
      await this.prepare();
      this.machine.prepared();
    }
    await this.registry.start();
    if (this.machine.leader) {
      // Planner statistics, on a SQLite file this machine serves (never on one another machine holds).
      const optimize = () => {
        if (!this.registry.servesDatabase()) return Promise.resolve();
        return this.db.optimize().catch((error: Error) => this.logger.warn(`could not refresh the SQLite planner statistics: ${error.message}`));
      };
      await optimize();
      this.optimizer = setInterval(() => void optimize(), 3_600_000);
      this.optimizer.unref();
    }
    this.lifecycle.markStarted();
  }

  /** Migrations (MIGRATIONS=auto), or the warning that some are pending. */
  private async prepare(): Promise<void> {
    if (!this.registry.servesDatabase()) {
      this.logger.warn('another machine serves this SQLite database: not migrating, and not ready until it stops');
    } else if (this.config.migrations === 'auto') {
      const applied = await this.migrator.run();
      if (applied.length > 0) this.logger.log(`applied ${applied.length} migration(s): ${applied.join(', ')}`);
    } else {
      const pending = await this.migrator.pending();
      if (pending.length > 0) {
        this.logger.warn(`MIGRATIONS=off and ${pending.length} migration(s) pending: not ready until \`kiroku migrate run\``);
      }
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.optimizer);
    this.lifecycle.beginDrain();
    await this.leases.releaseAll();
    await this.registry.stop();
    // A machine of one process lets go of its SQLite lock with the app, wherever the app was started (tests, tools).
    this.machine.release();
  }
}
