import { DynamicModule, Module } from '@nestjs/common';
import { CoreModule, CoreOptions } from './core.module';
import { ClusterModule } from './modules/cluster';
import { HealthModule } from './modules/health';

@Module({})
export class AppModule {
  static forRoot(options: CoreOptions): DynamicModule {
    return { module: AppModule, imports: [CoreModule.forRoot(options), ClusterModule, HealthModule] };
  }
}
