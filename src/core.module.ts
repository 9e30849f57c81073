import { DynamicModule, Module } from '@nestjs/common';
import { ClockModule } from '@kiroku/clock';
import { ConfigModule, KirokuConfig } from '@kiroku/config';
import { PersistenceModule } from '@kiroku/persistence';
import { SCHEMA } from './schema';

export interface CoreOptions {
  config: KirokuConfig;
  instanceId: string;
}

/** What both the server and the CLI stand on: configuration, clock, database. */
@Module({})
export class CoreModule {
  static forRoot({ config, instanceId }: CoreOptions): DynamicModule {
    return {
      module: CoreModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule,
        PersistenceModule.forRoot({ schema: SCHEMA, instanceId, applicationName: `kiroku ${instanceId}` }),
      ],
    };
  }
}
