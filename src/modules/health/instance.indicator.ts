import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Machine } from '@kiroku/supervisor';
import { InstanceRegistry, Lifecycle } from '../cluster';

/** Down while starting (until every worker serves) or shutting down, and on SQLite when another machine uses the same file. */
@Injectable()
export class InstanceIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly lifecycle: Lifecycle,
    private readonly registry: InstanceRegistry,
    private readonly machine: Machine,
  ) {}

  async check() {
    const check = this.health.check('instance');
    const id = this.registry.instanceId;
    if (this.lifecycle.isDraining) return check.down({ id, message: 'shutting down' });
    if (!this.lifecycle.isStarted) return check.down({ id, message: 'starting' });
    // A machine of workers is ready once all of them have started; afterwards, while any one serves.
    const machine = this.machine.state();
    if (!machine.started) return check.down({ id, message: `starting: ${machine.up} of ${machine.of || '?'} workers serving` });
    try {
      if (!this.registry.servesDatabase()) {
        const holder = await this.registry.likelyHolder().catch(() => null);
        const who = holder ? `another instance (${holder.id}, pid ${holder.pid} on ${holder.hostname})` : 'another process';
        return check.down({
          id,
          message: `${who} is using this SQLite database; SQLite allows one machine per database file (its workers share it): stop it, or move to PostgreSQL to run several`,
        });
      }
      return check.up({ id });
    } catch (error) {
      return check.down({ id, message: (error as Error).message });
    }
  }

  startup() {
    const check = this.health.check('startup');
    return this.lifecycle.isStarted ? check.up() : check.down({ message: 'starting' });
  }
}
