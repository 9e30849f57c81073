import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Migrator } from '@kiroku/persistence';

/** Down while migrations are pending (MIGRATIONS=off before `kiroku migrate run`). */
@Injectable()
export class SchemaIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly migrator: Migrator,
  ) {}

  async check() {
    const check = this.health.check('schema');
    try {
      const pending = await this.migrator.pending();
      return pending.length === 0 ? check.up() : check.down({ message: 'migrations pending: run `kiroku migrate run`', pending });
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }
}
