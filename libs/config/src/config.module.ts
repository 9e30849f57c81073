import { DynamicModule, Global, Module, Provider } from '@nestjs/common';
import { KirokuConfig, NAMESPACES } from './schema';

export const KIROKU_CONFIG = Symbol('KIROKU_CONFIG');

/**
 * Provides the already-validated configuration: the whole object under
 * KIROKU_CONFIG and each namespace by its class (inject `DatabaseConfig`).
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: KirokuConfig): DynamicModule {
    const providers: Provider[] = [
      { provide: KIROKU_CONFIG, useValue: config },
      ...(Object.keys(NAMESPACES) as Array<keyof typeof NAMESPACES>).map((ns) => ({ provide: NAMESPACES[ns], useValue: config[ns] })),
    ];
    return { module: ConfigModule, providers, exports: providers };
  }
}
