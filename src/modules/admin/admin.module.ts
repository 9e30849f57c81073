import { Module } from '@nestjs/common';
import { AuthModule } from '../auth';
import { ClusterModule } from '../cluster';
import { BackupModule } from '../backup';
import { AdminController } from './admin.controller';
import { BackupsController } from './backups.controller';
import { LogsController } from './logs.controller';

@Module({ imports: [AuthModule, ClusterModule, BackupModule], controllers: [AdminController, BackupsController, LogsController] })
export class AdminModule {}
