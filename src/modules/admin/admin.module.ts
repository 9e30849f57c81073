import { Module } from '@nestjs/common';
import { AuthModule } from '../auth';
import { ClusterModule } from '../cluster';
import { AdminController } from './admin.controller';

@Module({ imports: [AuthModule, ClusterModule], controllers: [AdminController] })
export class AdminModule {}
