#!/usr/bin/env node
'use strict';
// `npm run cluster [-- --instances N --port P]`: the reference three-replica topology on this machine, for
// development. One PostgreSQL (a throwaway one, or DATABASE_URL), migrations once, N app processes with
// MIGRATIONS=off, nginx in front on 127.0.0.1. Ctrl-C stops everything; a throwaway database goes with it.
const { join } = require('node:path');
const { parseArgs } = require('node:util');

const { startCluster } = require(join(__dirname, '..', 'dist/libs/testing/src/index.js'));

async function main() {
  const { values } = parseArgs({ options: { instances: { type: 'string', default: '3' }, port: { type: 'string', default: '8080' } } });
  const instances = Number(values.instances);
  const port = Number(values.port);
  if (!Number.isInteger(instances) || instances < 1 || instances > 16) throw new Error('--instances must be a whole number from 1 to 16');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('--port must be a TCP port (1-65535)');
  const width = Math.max(...['migrate', 'nginx', `kiroku-${instances}`].map((s) => s.length));
  const print = (source, line) => process.stdout.write(`${source.padEnd(width)} | ${line}\n`);
  print('cluster', `starting ${instances} instance(s) on ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'a throwaway PostgreSQL'}…`);
  const cluster = await startCluster({
    instances,
    port,
    databaseUrl: process.env.DATABASE_URL || undefined,
    env: { NODE_ENV: 'development', LOG_FORMAT: 'pretty' },
    onLine: print,
  });
  for (const instance of cluster.instances) print('cluster', `${instance.name}: ${instance.url} (pid ${instance.pid})`);
  print('cluster', `ready: ${cluster.url}  (nginx access log: ${join(cluster.dir, 'access.log')}; Ctrl-C stops everything)`);

  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    print('cluster', `${signal}: stopping nginx, the instances and the throwaway database…`);
    cluster.stop().then(
      () => {
        print('cluster', 'stopped');
        process.exit(0);
      },
      (error) => {
        process.stderr.write(`${error.stack}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error) => {
  process.stderr.write(`cluster: ${error.message}\n`);
  process.exit(1);
});
