import { DynamicModule, Module } from '@nestjs/common';
import { CoreModule, CoreOptions } from '../core.module';

/** The CLI's application context: the core, without HTTP, start-up migrations or heartbeats. */
@Module({})
export class CliModule {
  static forRoot(options: CoreOptions): DynamicModule {
    return { module: CliModule, imports: [CoreModule.forRoot(options)] };
  }
}
