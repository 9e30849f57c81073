import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule, getDataSourceToken } from '@nestjs/typeorm';
import { Clock } from '@kiroku/clock';
import { DatabaseConfig } from '@kiroku/config';
import { DataSource } from 'typeorm';
import { SchemaDefinition, buildDataSourceOptions } from './data-source.factory';
import { Database, DatabaseOptions } from './database';
import { LeaseService } from './lease.service';
import { Migrator } from './migrator';
import { RetentionRegistry } from './retention';

/** The identity this process writes into lease and registry rows. */
export const INSTANCE_ID = Symbol('INSTANCE_ID');

export interface PersistenceModuleOptions {
  schema: SchemaDefinition;
  /** This process's identity in lease and registry rows (hostname and a random suffix). */
  instanceId: string;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
  /** This process's name in task_leases rows (a worker of a machine: the instance and its worker slot); instanceId when absent. */
  leaseHolder?: string;
  /** Who runs the SQLite checkpointer (see DatabaseOptions): the machine's leader, or the only process. */
  checkpoints?: DatabaseOptions['checkpoints'];
  /** Connection attempts at start-up before giving up, 3 s apart (a server waits out a database restart; the CLI fails fast). */
  connectAttempts?: number;
}

@Global()
@Module({})
export class PersistenceModule {
  static forRoot(options: PersistenceModuleOptions): DynamicModule {
    return {
      module: PersistenceModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [DatabaseConfig],
          useFactory: (config: DatabaseConfig) => ({
            ...buildDataSourceOptions(config, options.schema, options.applicationName),
            retryAttempts: options.connectAttempts ?? 10,
            retryDelay: 3000,
            verboseRetryLog: true,
          }),
        }),
      ],
      providers: [
        { provide: INSTANCE_ID, useValue: options.instanceId },
        { provide: Database, inject: [getDataSourceToken()], useFactory: (ds: DataSource) => new Database(ds, { checkpoints: options.checkpoints }) },
        { provide: Migrator, inject: [Database], useFactory: (db: Database) => new Migrator(db) },
        {
          provide: LeaseService,
          inject: [Database, Clock, INSTANCE_ID],
          useFactory: (db: Database, clock: Clock, id: string) => new LeaseService(db, clock, options.leaseHolder ?? id),
        },
        { provide: RetentionRegistry, inject: [Database, Clock], useFactory: (db: Database, clock: Clock) => new RetentionRegistry(db, clock) },
      ],
      exports: [INSTANCE_ID, Database, Migrator, LeaseService, RetentionRegistry, TypeOrmModule],
    };
  }
}
