import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DatabaseConfig } from '@kiroku/config';
import { Database, LeaseService, Migrator } from '@kiroku/persistence';
import { InstanceRegistry } from './instance-registry.service';
import { Lifecycle } from './lifecycle';

/**
 * Start-up and shutdown order of a serving instance: migrate (MIGRATIONS=auto),
 * register, then report started; on SIGTERM fail readiness first, and once
 * requests have drained give leases back and record the stop.
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
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.registry.servesDatabase()) {
      this.logger.warn('another process serves this SQLite database: not migrating, and not ready until it stops');
    } else if (this.config.migrations === 'auto') {
      const applied = await this.migrator.run();
      if (applied.length > 0) this.logger.log(`applied ${applied.length} migration(s): ${applied.join(', ')}`);
    } else {
      const pending = await this.migrator.pending();
      if (pending.length > 0) {
        this.logger.warn(`MIGRATIONS=off and ${pending.length} migration(s) pending: not ready until \`kiroku migrate run\``);
      }
    }
    await this.registry.start();
    // Planner statistics, on a SQLite file this process serves (never on one another process holds).
    const optimize = () => {
      if (!this.registry.servesDatabase()) return Promise.resolve();
      return this.db.optimize().catch((error: Error) => this.logger.warn(`could not refresh the SQLite planner statistics: ${error.message}`));
    };
    await optimize();
    this.optimizer = setInterval(() => void optimize(), 3_600_000);
    this.optimizer.unref();
    this.lifecycle.markStarted();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.optimizer);
    this.lifecycle.beginDrain();
    await this.leases.releaseAll();
    await this.registry.stop();
  }
}
