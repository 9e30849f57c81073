import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DatabaseConfig } from '@kiroku/config';
import { Database } from '@kiroku/persistence';

@Injectable()
export class DatabaseIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly db: Database,
    private readonly config: DatabaseConfig,
  ) {}

  async check() {
    const check = this.health.check('database');
    const started = performance.now();
    try {
      await this.db.ping(this.config.pingTimeoutMs);
      return check.up({ engine: this.db.engine, responseTimeMs: Math.round(performance.now() - started) });
    } catch (error) {
      return check.down({ engine: this.db.engine, message: (error as Error).message });
    }
  }
}
