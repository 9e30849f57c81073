import { DynamicModule, Module } from '@nestjs/common';
import { ClockModule } from '@kiroku/clock';
import { ConfigModule, KirokuConfig } from '@kiroku/config';
import { PersistenceModule } from '@kiroku/persistence';
import { SCHEMA } from './schema';

export interface CoreOptions {
  config: KirokuConfig;
  instanceId: string;
  /** Database connection attempts at start-up, 3 s apart. */
  connectAttempts?: number;
}

/** What both the server and the CLI stand on: configuration, clock, database. */
@Module({})
export class CoreModule {
  static forRoot({ config, instanceId, connectAttempts }: CoreOptions): DynamicModule {
    return {
      module: CoreModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule,
        PersistenceModule.forRoot({ schema: SCHEMA, instanceId, connectAttempts, applicationName: `kiroku ${instanceId}` }),
      ],
    };
  }
}
