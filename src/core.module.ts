import { resolve } from 'node:path';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { ClockModule } from '@kiroku/clock';
import { ConfigModule, KirokuConfig } from '@kiroku/config';
import { PersistenceModule } from '@kiroku/persistence';
import { Machine, SingleProcess } from '@kiroku/supervisor';
import { SCHEMA } from './schema';

export interface CoreOptions {
  config: KirokuConfig;
  instanceId: string;
  /** The machine this process serves on: a worker's link to its primary; a machine of one process when absent. */
  machine?: Machine;
  /** Database connection attempts at start-up, 3 s apart. */
  connectAttempts?: number;
}

/** What both the server and the CLI stand on: configuration, clock, database, and the machine the process is part of. */
@Global()
@Module({})
export class CoreModule {
  static forRoot({ config, instanceId, machine, connectAttempts }: CoreOptions): DynamicModule {
    const sqlitePath = config.database.engine === 'sqlite' ? resolve(config.database.path) : null;
    const own = machine ?? new SingleProcess(sqlitePath, instanceId);
    const worker = own instanceof SingleProcess ? '' : `/w${own.slot}`;
    return {
      module: CoreModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule,
        PersistenceModule.forRoot({
          schema: SCHEMA,
          instanceId,
          leaseHolder: `${instanceId}${worker}`,
          checkpoints: own.leader ? 'thread' : 'backstop',
          connectAttempts,
          applicationName: `kiroku ${instanceId}${worker}`,
        }),
      ],
      providers: [{ provide: Machine, useValue: own }],
      exports: [Machine],
    };
  }
}
