export { ClusterModule } from './cluster.module';
export { FORGET_INSTANCE_AFTER_MS, Instance, instanceState, type InstanceState } from './instance.entity';
export { InstanceRegistry } from './instance-registry.service';
export { Lifecycle } from './lifecycle';
