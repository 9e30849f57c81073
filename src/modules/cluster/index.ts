export { ClusterModule } from './cluster.module';
export { Instance } from './instance.entity';
export { InstanceRegistry } from './instance-registry.service';
export { Lifecycle } from './lifecycle';
