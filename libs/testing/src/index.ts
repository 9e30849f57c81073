export { findPostgresBinDir, startPostgres, type PostgresCluster } from './postgres-launcher';
export { freePort } from './ports';
export { builtEntry, childEnv, projectRoot, tempDir } from './paths';
export { startAzurite, type AzuriteServer } from './azurite';
export { renderUpstream, startCluster, type ClusterInstance, type ClusterOptions, type KirokuCluster } from './cluster';
