import { Module } from '@nestjs/common';
import { InstanceRegistry } from './instance-registry.service';
import { Lifecycle } from './lifecycle';
import { StartupService } from './startup.service';

@Module({
  providers: [InstanceRegistry, Lifecycle, StartupService],
  exports: [InstanceRegistry, Lifecycle],
})
export class ClusterModule {}
