import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import 'reflect-metadata';
import { PATH_METADATA } from '@nestjs/common/constants';
import { DockerfileParser } from 'dockerfile-ast';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { parse, parseAllDocuments } from 'yaml';
import { allSettings, ENVIRONMENTS, parseDuration } from '@kiroku/config';
import { freePort, projectRoot, tempDir } from '@kiroku/testing';
import { HealthController } from '../src/modules/health';
import { KirokuProcess, spawnServer, waitForStatus } from './support/process';

// The deploy/ files, checked with the tools that run here: kubectl kustomize (every overlay rendered and
// compared with the app), a Dockerfile linter and parser, `nginx -t` and a real nginx over TLS in front of
// the app, systemd-analyze verify and shellcheck. The pipelines: test/deploy-pipelines.int-spec.ts.
const root = projectRoot();
const deploy = (...p: string[]) => join(root, 'deploy', ...p);
const read = (...p: string[]) => readFileSync(join(root, ...p), 'utf8');

const tools = ['kubectl', 'nginx', 'openssl', 'systemd-analyze', 'shellcheck'];
const missing = tools.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
if (missing.length && process.env.CI === 'true') throw new Error(`CI=true but ${missing.join(', ')} missing (see .ci/run)`);
if (missing.length) console.warn(`SKIPPED: deploy checks that need ${missing.join(', ')} (not installed)`);
const withTool = (tool: string) => (missing.includes(tool) ? describe.skip : describe);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered manifests are read as any, as response bodies are: the expectations are the check
type K8s = { kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [key: string]: any };

function kustomize(overlay: string): K8s[] {
  const out = spawnSync('kubectl', ['kustomize', deploy('k8s', 'overlays', overlay)], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`kubectl kustomize ${overlay} failed:\n${out.stderr}`);
  return parseAllDocuments(out.stdout)
    .map((d) => d.toJS() as K8s)
    .filter(Boolean);
}

const OVERLAYS = readdirSync(deploy('k8s', 'overlays')).sort();
const SETTINGS = new Set(allSettings().map((s) => s.name));
const DEFAULTS = parse(read('config/default.yaml')) as Record<string, string | number>;
const graceMs = (value: unknown) => parseDuration(value ?? DEFAULTS.SHUTDOWN_GRACE_PERIOD);

/** The health routes the app registers, from Nest's own metadata on HealthController. */
function healthRoutes(): string[] {
  const base = Reflect.getMetadata(PATH_METADATA, HealthController) as string;
  return Object.getOwnPropertyNames(HealthController.prototype)
    .map((m) => Reflect.getMetadata(PATH_METADATA, (HealthController.prototype as unknown as Record<string, object>)[m]) as string | undefined)
    .filter((p): p is string => typeof p === 'string')
    .map((p) => `/${base}/${p}`);
}

const dockerfile = DockerfileParser.parse(read('deploy/docker/Dockerfile'));
const finalStage = () => {
  const instructions = dockerfile.getInstructions();
  const lastFrom = instructions.map((i) => i.getKeyword()).lastIndexOf('FROM');
  return instructions.slice(lastFrom);
};
const dockerArg = (keyword: string) =>
  finalStage()
    .filter((i) => i.getKeyword() === keyword)
    .map((i) => i.getArgumentsContent() ?? '');
const imageUid = () => Number(dockerArg('USER')[0].split(':')[0]);
const imagePort = () => Number(dockerArg('EXPOSE')[0]);

withTool('kubectl')('Kubernetes manifests (kubectl kustomize, every overlay)', () => {
  const rendered = Object.fromEntries(OVERLAYS.map((o) => [o, [] as K8s[]]));
  beforeAll(() => {
    for (const overlay of OVERLAYS) rendered[overlay] = kustomize(overlay);
  });
  const app = (objects: K8s[]) => objects.find((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')!;
  const config = (objects: K8s[]) => objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kiroku-config')!.data as Record<string, string>;
  const container = (workload: K8s) => workload.spec.template.spec.containers[0];

  it('has the dev, test, staging, production and single-machine overlays, each with its environment’s image tag', () => {
    expect(OVERLAYS).toEqual(['dev', 'production', 'single', 'staging', 'test']);
    const images = (overlay: string) => [...new Set(rendered[overlay].filter((o) => o.spec?.template).map((o) => container(o).image as string))];
    expect(images('dev')).toEqual(['kirokuacr.azurecr.io/kiroku:dev']);
    expect(images('test')).toEqual(['kirokuacr.azurecr.io/kiroku:test']);
    expect(images('staging')).toEqual(['kirokuacr.azurecr.io/kiroku:stg']);
    expect(images('production')).toEqual(['kirokuacr.azurecr.io/kiroku:main']);
    expect(images('single')).toEqual(['kirokuacr.azurecr.io/kiroku:main']);
  });

  it.each(OVERLAYS)('%s: NODE_ENV names the environment, or the overlay says why it runs production’s rules', (overlay) => {
    const env = config(rendered[overlay]).NODE_ENV;
    expect(ENVIRONMENTS).toContain(env);
    const named = { dev: 'development', test: 'test', staging: 'staging', production: 'production', single: 'production' }[overlay];
    // `development` and `test` are a checkout's and the test suites' profiles (built-in SESSION_SECRET): never deployed.
    expect(['development', 'test']).not.toContain(env);
    if (env !== named) expect(read(`deploy/k8s/overlays/${overlay}/configmap.yaml`)).toMatch(/# Production's rules on purpose: NODE_ENV=\w+ is/);
  });

  it.each(OVERLAYS)('%s: probes on the app’s health routes and port, Service 80 → 8888 selecting the pods', (overlay) => {
    const objects = rendered[overlay];
    const workload = app(objects);
    const c = container(workload);
    const routes = healthRoutes();
    expect(routes).toEqual(expect.arrayContaining(['/health/live', '/health/ready', '/health/startup']));
    expect(c.ports).toEqual([{ name: 'http', containerPort: imagePort(), protocol: 'TCP' }]);
    expect(imagePort()).toBe(Number(DEFAULTS.PORT));
    expect(c.startupProbe.httpGet).toEqual({ path: '/health/startup', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) expect(routes).toContain(probe.httpGet.path);
    const service = objects.find((o) => o.kind === 'Service' && o.spec.type === 'LoadBalancer')!;
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
    const podLabels = workload.spec.template.metadata.labels;
    expect(podLabels).toMatchObject(service.spec.selector);
    expect(podLabels).toMatchObject(workload.spec.selector.matchLabels);
    expect(config(objects).PORT).toBe(String(imagePort()));
  });

  it.each(OVERLAYS)('%s: every setting the manifests give is a known Kiroku setting, and the Secret template holds no secret', (overlay) => {
    const objects = rendered[overlay];
    const secret = parse(read('deploy/k8s/base/secret.template.yaml')) as K8s;
    const secretKeys = Object.keys(secret.stringData).filter((k) => k !== 'age-identity.txt');
    for (const name of [...Object.keys(config(objects)), ...secretKeys]) expect([name, SETTINGS.has(name)]).toEqual([name, true]);
    for (const [key, value] of Object.entries(secret.stringData as Record<string, string>))
      expect([key, value]).toEqual([key, expect.stringContaining('REPLACE_ME')]);
    expect(secret.stringData.DATABASE_URL).toMatch(/sslmode=verify-full/);
    // The template is never applied: it would overwrite the real Secret.
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    for (const c of [...objects.filter((o) => o.spec?.template).map((o) => container(o))]) {
      expect(c.envFrom).toEqual([{ configMapRef: { name: 'kiroku-config' } }, { secretRef: { name: 'kiroku-secrets' } }]);
      // Besides Kiroku's settings, only libpq's own variable for the backup tools (deployment.yaml says why).
      for (const { name } of c.env ?? []) expect([name, SETTINGS.has(name) || name === 'PGSSLROOTCERT']).toEqual([name, true]);
    }
  });

  it.each(OVERLAYS)('%s: non-root with the image’s user, read-only root filesystem, no privilege escalation, sized requests and limits', (overlay) => {
    for (const workload of rendered[overlay].filter((o) => o.spec?.template)) {
      const pod = workload.spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: imageUid(), runAsGroup: imageUid() });
      expect(pod.automountServiceAccountToken).toBe(false);
      const c = pod.containers[0];
      expect(c.image).toMatch(/^kirokuacr\.azurecr\.io\/kiroku:/);
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      // Writable places exist for what the app writes: /tmp (pg_dump, staging) and the data directory.
      const mounts = (c.volumeMounts ?? []).map((m: { mountPath: string }) => m.mountPath);
      expect(mounts).toContain('/tmp');
      const cpu = (v: string) => (v.endsWith('m') ? Number(v.slice(0, -1)) / 1000 : Number(v));
      const mib = (v: string) => Number(v.replace(/Mi$/, '')) * (v.endsWith('Gi') ? 1024 : 1);
      expect(cpu(c.resources.requests.cpu)).toBeLessThanOrEqual(cpu(c.resources.limits.cpu));
      expect(mib(c.resources.requests.memory)).toBeLessThanOrEqual(mib(c.resources.limits.memory));
      // A 2 vCPU / 4 GB node (about 1.9 CPU and 2.8 GiB allocatable on AKS) holds three pods' requests; in
      // production two, each with a core's worth for its one worker (and room for a surge pod in a rollout);
      // `single` is the only pod, its workers using up to two CPUs.
      const perNode = { production: 2, single: 1 }[overlay] ?? 3;
      expect(perNode * cpu(c.resources.requests.cpu)).toBeLessThanOrEqual(1.9);
      expect(perNode * mib(c.resources.requests.memory)).toBeLessThanOrEqual(2.8 * 1024);
      if (overlay === 'production' && workload.kind === 'Deployment') expect(cpu(c.resources.requests.cpu)).toBeGreaterThanOrEqual(0.9);
      // One worker per pod in the cluster overlays (scale by replicas); workers by CPU in `single`.
      expect(config(rendered[overlay]).WEB_CONCURRENCY).toBe(overlay === 'single' ? 'auto' : '1');
      expect(cpu(c.resources.limits.cpu)).toBeLessThanOrEqual(2);
      expect(mib(c.resources.limits.memory)).toBeLessThanOrEqual(1024);
    }
  });

  it.each(OVERLAYS.filter((o) => o !== 'single'))(
    '%s: PostgreSQL cluster: migrations by the Job only (its command exists), pods with MIGRATIONS=off',
    (overlay) => {
      const objects = rendered[overlay];
      expect(app(objects).kind).toBe('Deployment');
      expect(config(objects)).toMatchObject({ TOPOLOGY: 'cluster', MIGRATIONS: 'off' });
      const job = objects.find((o) => o.kind === 'Job')!;
      expect(job.metadata.name).toBe('kiroku-migrate');
      const args: string[] = container(job).args;
      expect(args).toEqual(['migrate', 'run']);
      const cli = spawnSync(process.execPath, [join(root, 'bin/kiroku.js'), ...args, '--help'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
      expect(cli.status).toBe(0);
      expect(cli.stdout).toMatch(/^Usage: kiroku migrate run/);
      expect(container(job).image).toBe(container(app(objects)).image);
    },
  );

  it('production: three replicas spread over nodes, a PodDisruptionBudget, rolling updates that never drop below three', () => {
    const objects = rendered.production;
    const deployment = app(objects);
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    const spread = deployment.spec.template.spec.topologySpreadConstraints;
    expect(spread).toEqual(expect.arrayContaining([expect.objectContaining({ topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule' })]));
    const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget')!;
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(deployment.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(rendered.staging.find((o) => o.kind === 'Deployment')!.spec.replicas).toBe(3);
    expect(rendered.dev.find((o) => o.kind === 'Deployment')!.spec.replicas).toBe(1);
    expect(rendered.test.find((o) => o.kind === 'Deployment')!.spec.replicas).toBe(1);
  });

  it.each(OVERLAYS)('%s: the public entry is the gateway Ingress with TLS, to the internal Service', (overlay) => {
    const objects = rendered[overlay];
    const ingress = objects.find((o) => o.kind === 'Ingress')!;
    expect(ingress.spec.ingressClassName).toBe('azure-application-gateway');
    expect(ingress.spec.tls[0].hosts).toEqual([ingress.spec.rules[0].host]);
    expect(ingress.spec.tls[0].secretName).toBeTruthy();
    expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'kiroku', port: { name: 'http' } });
    expect(new URL(config(objects).PUBLIC_URL).host).toBe(ingress.spec.rules[0].host);
    const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'kiroku')!;
    expect(service.metadata.annotations!['service.beta.kubernetes.io/azure-load-balancer-internal']).toBe('true');
  });

  it.each(OVERLAYS)('%s: SIGTERM timings agree with SHUTDOWN_GRACE_PERIOD (preStop + grace + margin fit in the termination grace period)', (overlay) => {
    const objects = rendered[overlay];
    const pod = app(objects).spec.template.spec;
    const c = pod.containers[0];
    const grace = graceMs(config(objects).SHUTDOWN_GRACE_PERIOD);
    expect(grace).toBe(graceMs(DEFAULTS.SHUTDOWN_GRACE_PERIOD));
    const preStop = c.lifecycle.preStop.exec.command;
    expect(preStop[0]).toBe('sleep');
    const preStopMs = Number(preStop[1]) * 1000;
    // The pod stops getting new requests during preStop; then in-flight ones get the full grace, and a few
    // seconds remain to close the database and flush logs before the kubelet's SIGKILL.
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(preStopMs + grace + 3000);
    // Readiness fails within preStop: at most period × threshold after SIGTERM the endpoint is gone.
    expect(c.readinessProbe.periodSeconds * c.readinessProbe.failureThreshold * 1000).toBeLessThanOrEqual(preStopMs + grace);
    // Liveness never restarts a pod that is draining: it takes longer than the grace to fail.
    expect(c.livenessProbe.periodSeconds * c.livenessProbe.failureThreshold * 1000).toBeGreaterThan(grace);
    // The startup probe waits at least as long as a migration lock or a slow first connection may take.
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(60);
  });

  it.each(OVERLAYS)('%s: /metrics is scraped by Azure Monitor and kept off the public path', (overlay) => {
    const objects = rendered[overlay];
    const monitor = objects.find((o) => o.kind === 'PodMonitor')!;
    expect(monitor.apiVersion).toBe('azmonitoring.coreos.com/v1');
    expect(monitor.spec.podMetricsEndpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
    expect(app(objects).spec.template.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    const policy = objects.find((o) => o.kind === 'NetworkPolicy')!;
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    expect(app(objects).spec.template.metadata.labels).toMatchObject(policy.spec.podSelector.matchLabels);
    const peers = policy.spec.ingress.flatMap((rule: { from: unknown[] }) => rule.from) as Array<{
      ipBlock?: { cidr: string };
      podSelector?: { matchLabels: Record<string, string> };
    }>;
    const blocks = peers.filter((p) => p.ipBlock).map((p) => p.ipBlock!.cidr);
    // No rule lets anyone in: the public path is the gateway subnet, and the only pod peer is the scraper.
    expect(blocks).not.toContain('0.0.0.0/0');
    expect(peers.filter((p) => p.podSelector).map((p) => p.podSelector!.matchLabels)).toEqual([{ rsName: 'ama-metrics' }]);
    // The address range that may read /metrics without the token holds no address of the public path.
    const allow = config(objects).METRICS_ALLOW.split(',');
    for (const block of blocks) for (const allowed of allow) expect(overlaps(block, allowed)).toBe(false);
    expect(config(objects).TRUST_PROXY.split(',')).toEqual(blocks);
  });

  it('single: SQLite in a StatefulSet of exactly one replica with its own volume, migrating at start-up', () => {
    const objects = rendered.single;
    expect(objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job')).toEqual([]);
    const set = app(objects);
    expect(set.kind).toBe('StatefulSet');
    expect(set.spec.replicas).toBe(1);
    expect(set.spec.volumeClaimTemplates[0].spec.accessModes).toEqual(['ReadWriteOnce']);
    const dataMount = container(set).volumeMounts.find((m: { name: string }) => m.name === set.spec.volumeClaimTemplates[0].metadata.name);
    const cfg = config(objects);
    expect(cfg).toMatchObject({ TOPOLOGY: 'single', MIGRATIONS: 'auto' });
    expect(cfg.DATABASE_PATH.startsWith(`${dataMount.mountPath}/`)).toBe(true);
    expect(cfg.BACKUP_DIR.startsWith(`${dataMount.mountPath}/`)).toBe(true);
    expect(read('deploy/k8s/overlays/single/kustomization.yaml')).toMatch(/Why a StatefulSet of one/);
    // One pod, its own maintenance: it verifies and prunes its backups, with the identity mounted.
    expect(objects.filter((o) => o.kind === 'CronJob')).toEqual([]);
    expect(cfg).toMatchObject({ BACKUP_MAINTENANCE: 'inline', BACKUP_AGE_IDENTITY_FILE: '/etc/kiroku/age/identity.txt' });
    expect(container(set).volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toContain('/etc/kiroku/age');
  });

  it.each(OVERLAYS.filter((o) => o !== 'single'))(
    '%s: the web pods hold neither the backup identity nor a deleting credential; a CronJob alone does: restore drill, then pruning',
    (overlay) => {
      const objects = rendered[overlay];
      const web = app(objects);
      const secretsOf = (pod: K8s) =>
        [
          ...(pod.volumes ?? []).map((v: K8s) => v.secret?.secretName),
          ...[...(pod.initContainers ?? []), ...pod.containers].flatMap((c: K8s) => [
            ...(c.envFrom ?? []).map((e: K8s) => e.secretRef?.name),
            ...(c.env ?? []).map((e: K8s) => e.valueFrom?.secretKeyRef?.name),
          ]),
        ].filter(Boolean);
      expect(config(objects).BACKUP_MAINTENANCE).toBe('separate');
      expect(config(objects).BACKUP_AGE_IDENTITY_FILE).toBeUndefined();
      expect(secretsOf(web.spec.template.spec)).not.toContain('kiroku-backup-maintenance');

      const cron = objects.find((o) => o.kind === 'CronJob')!;
      expect(cron.metadata.name).toBe('kiroku-backup-maintenance');
      expect(cron.spec.concurrencyPolicy).toBe('Forbid');
      const pod = cron.spec.jobTemplate.spec.template.spec;
      expect(cron.spec.jobTemplate.spec.backoffLimit).toBe(0);
      // The drill is the init container: a failed one fails the Job before the pruning starts.
      expect(pod.initContainers.map((c: K8s) => c.args)).toEqual([['backup', 'verify', '--latest', '--drill']]);
      expect(pod.containers.map((c: K8s) => c.args)).toEqual([['backup', 'prune']]);
      expect(secretsOf(pod)).toEqual(expect.arrayContaining(['kiroku-backup-maintenance']));
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: imageUid(), runAsGroup: imageUid() });
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const c of [...pod.initContainers, ...pod.containers]) {
        expect(c.image).toBe(container(web).image);
        expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        expect(c.env.find((e: K8s) => e.name === 'BACKUP_AGE_IDENTITY_FILE').value).toBe(
          `${c.volumeMounts.find((m: K8s) => m.name === 'age-identity').mountPath}/identity.txt`,
        );
        for (const { name } of c.env) expect([name, SETTINGS.has(name)]).toEqual([name, true]);
        const cli = spawnSync(process.execPath, [join(root, 'bin/kiroku.js'), ...c.args, '--help'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
        expect(cli.status).toBe(0);
      }
      const template = parse(read('deploy/k8s/base/backup-maintenance-secret.template.yaml')) as K8s;
      expect(template.metadata.name).toBe('kiroku-backup-maintenance');
      expect(Object.keys(template.stringData).sort()).toEqual(['BACKUP_AZURE_CONNECTION_STRING', 'age-identity.txt']);
      expect(read('deploy/k8s/base/secret.template.yaml')).not.toMatch(/^\s+age-identity\.txt:/m);
    },
  );
});

describe('deploy/ as a whole', () => {
  const files = (dir: string): string[] => readdirSync(dir).flatMap((e) => (statSync(join(dir, e)).isDirectory() ? files(join(dir, e)) : [join(dir, e)]));

  it('holds no secret: no key, token, password or connection string with a value', () => {
    const patterns = [
      /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
      /AGE-SECRET-KEY-1/,
      /krk_[A-Za-z0-9]{8,}/,
      /AccountKey=[A-Za-z0-9+/]{20,}/,
      /postgres(ql)?:\/\/[^:\s]+:(?!REPLACE_ME|…)[^@\s]+@/,
      // 64 hex digits, except an image digest (sha256:…), which is public.
      /(?<!sha256:)\b[0-9a-f]{64}\b/,
    ];
    const workflows = readdirSync(join(root, '.github/workflows')).map((f) => join(root, '.github/workflows', f));
    for (const file of [
      ...files(deploy()),
      ...readdirSync(join(root, '.ci'))
        .map((f) => join(root, '.ci', f))
        .filter((f) => statSync(f).isFile()),
      join(root, 'azure-pipelines.yml'),
      ...workflows,
    ]) {
      const text = readFileSync(file, 'utf8');
      for (const pattern of patterns) expect([relative(root, file), pattern.test(text)]).toEqual([relative(root, file), false]);
    }
  });

  it('Container Insights (cluster-wide) collects stdout with the ContainerLogV2 schema, and never the pods’ environment', () => {
    const config = parse(read('deploy/k8s/cluster-wide/container-azm-ms-agentconfig.yaml')) as K8s;
    expect(config.metadata).toMatchObject({ name: 'container-azm-ms-agentconfig', namespace: 'kube-system' });
    const settings = config.data['log-data-collection-settings'] as string;
    expect(settings).toMatch(/\[log_collection_settings\.stdout\]\s+enabled = true/);
    expect(settings).toMatch(/\[log_collection_settings\.env_var\]\s+(#.*\s+)*enabled = false/);
    expect(settings).toMatch(/containerlog_schema_version = "v2"/);
  });
});

/** Whether two IPv4 CIDR blocks share an address. */
function overlaps(a: string, b: string): boolean {
  const range = (cidr: string) => {
    const [ip, bits] = cidr.split('/');
    const n = ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
    const size = 2 ** (32 - Number(bits ?? 32));
    const start = n - (n % size);
    return [start, start + size - 1];
  };
  const [a0, a1] = range(a);
  const [b0, b1] = range(b);
  return a0 <= b1 && b0 <= a1;
}

describe('container image (deploy/docker)', () => {
  it('passes the Dockerfile linter', () => {
    expect(
      lintDockerfile(read('deploy/docker/Dockerfile')).map((d) => `${d.range.start.line + 1}: ${typeof d.message === 'string' ? d.message : d.message.value}`),
    ).toEqual([]);
  });

  it('builds both stages on one official Node LTS image (tag, and digest once pinned) that package.json and better-sqlite3 accept', () => {
    const froms = dockerfile.getFROMs().map((f) => f.getArgumentsContent()!);
    expect(froms).toEqual([expect.stringMatching(/ AS build$/), expect.not.stringContaining(' ')]);
    const image = froms[1];
    expect(froms[0]).toBe(`${image} AS build`);
    const [, major] = /^node:(\d+)-bookworm-slim(@sha256:[0-9a-f]{64})?$/.exec(image) ?? [];
    // Even majors are the LTS lines; 22 and 24 are the ones supported past 2026.
    expect(['22', '24']).toContain(major);
    // engines is read as its alternatives of lower bounds (">=20.11 <21 || >=22"), better-sqlite3's as majors ("20.x || 22.x").
    const accepts = (range: string) =>
      range.split('||').some((alt) => {
        const x = /^\s*(\d+)\.x\s*$/.exec(alt)?.[1];
        if (x) return x === major;
        const min = /(?:^|\s)>=(\d+)/.exec(alt)?.[1];
        const below = /<(\d+)/.exec(alt)?.[1];
        return min !== undefined && Number(major) >= Number(min) && (below === undefined || Number(major) < Number(below));
      });
    const pkg = JSON.parse(read('package.json')) as { engines: { node: string } };
    const sqlite = JSON.parse(read('node_modules/better-sqlite3/package.json')) as { engines: { node: string } };
    expect([pkg.engines.node, accepts(pkg.engines.node)]).toEqual([pkg.engines.node, true]);
    expect([sqlite.engines.node, accepts(sqlite.engines.node)]).toEqual([sqlite.engines.node, true]);
  });

  it('runs as a fixed non-root user on 8888, with tini, a health check and volumes', () => {
    expect(imageUid()).toBeGreaterThan(0);
    expect(imagePort()).toBe(8888);
    expect(dockerArg('ENTRYPOINT')[0]).toMatch(/^\["\/usr\/bin\/tini", "--"/);
    expect(dockerArg('HEALTHCHECK')[0]).toContain('/health/live');
    expect(dockerArg('VOLUME')[0]).toContain('/var/lib/kiroku');
    expect(dockerArg('VOLUME')[0]).toContain('/var/log/kiroku');
    // Production dependencies only, and a pg_dump that is at least as new as every supported server.
    expect(read('deploy/docker/Dockerfile')).toMatch(/npm prune --omit=dev/);
    expect(Number(/PG_CLIENT_MAJOR=(\d+)/.exec(read('deploy/docker/Dockerfile'))![1])).toBeGreaterThanOrEqual(17);
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    const allowed = read('.dockerignore')
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/$/, ''));
    const copies = read('deploy/docker/Dockerfile')
      .split('\n')
      .filter((l) => l.startsWith('COPY ') && !l.includes('--from='));
    expect(copies.length).toBeGreaterThan(5);
    for (const copy of copies) {
      const args = copy.split(/\s+/).slice(1);
      for (const source of args.slice(0, -1)) {
        expect([source, existsSync(join(root, source))]).toEqual([source, true]);
        expect([source, allowed.some((a) => source === a || source.startsWith(`${a}/`))]).toEqual([source, true]);
      }
    }
  });

  it('needs at run time only the production dependencies the image keeps', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    const production = new Set(Object.keys(pkg.dependencies));
    const builtin = new Set(builtinModules);
    const needed = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        const file = join(dir, entry);
        if (statSync(file).isDirectory()) walk(file);
        else if (file.endsWith('.js') && !relative(join(root, 'dist'), file).startsWith('libs/testing')) {
          for (const [, spec] of readFileSync(file, 'utf8').matchAll(/require\("([^".][^"]*)"\)/g)) {
            const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
            if (!builtin.has(name) && !name.startsWith('node:')) needed.add(name);
          }
        }
      }
    };
    walk(join(root, 'dist'));
    expect([...needed].filter((n) => !production.has(n))).toEqual([]);
  });
});

withTool('shellcheck')('scripts the image and the pipelines run', () => {
  it.each(['deploy/docker/entrypoint.sh', 'deploy/azure/deploy.sh'])('%s passes shellcheck', (script) => {
    const out = spawnSync('shellcheck', [join(root, script)], { encoding: 'utf8' });
    expect(out.stdout).toBe('');
    expect(out.status).toBe(0);
  });
});

(missing.includes('nginx') || missing.includes('openssl') ? describe.skip : describe)(
  'nginx on a VM (deploy/nginx), run for real with a throwaway certificate',
  () => {
    let dir: string;
    let nginx: ChildProcess;
    let app: KirokuProcess;
    let httpPort: number;
    let httpsPort: number;

    beforeAll(async () => {
      dir = tempDir();
      mkdirSync(join(dir, 'tmp'));
      httpPort = await freePort();
      httpsPort = await freePort();
      app = await spawnServer({ DATABASE_PATH: join(dir, 'kiroku.sqlite'), TRUST_PROXY: '127.0.0.1', PUBLIC_URL: `https://notes.example.com:${httpsPort}` });
      await waitForStatus(`${app.url}/health/ready`, [200]);
      const cert = spawnSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=notes.example.com',
          '-keyout',
          join(dir, 'privkey.pem'),
          '-out',
          join(dir, 'fullchain.pem'),
        ],
        { encoding: 'utf8' },
      );
      expect(cert.status).toBe(0);
      // The installed layout (/etc/nginx/kiroku/…) pointed at this checkout; ports, certificate and logs moved to the test folder.
      const site = read('deploy/nginx/kiroku.conf')
        .replaceAll('/etc/nginx/kiroku/', `${deploy('nginx')}/`)
        .replaceAll('/etc/letsencrypt/live/notes.example.com/', `${dir}/`)
        .replaceAll('/var/log/nginx/', `${dir}/`)
        .replace(/listen 80;/, `listen 127.0.0.1:${httpPort};`)
        .replace(/listen \[::\]:80;/, '')
        .replace(/listen 443 ssl http2;/, `listen 127.0.0.1:${httpsPort} ssl http2;`)
        .replace(/listen \[::\]:443 ssl http2;/, '');
      writeFileSync(join(dir, 'kiroku.conf'), site);
      const upstream = read('deploy/nginx/kiroku-upstream.conf')
        .replace(/server 127\.0\.0\.1:8881/, `server 127.0.0.1:${app.port}`)
        .replace(/^\s*server 127\.0\.0\.1:8882.*$/m, '');
      writeFileSync(join(dir, 'upstream.conf'), upstream);
      writeFileSync(join(dir, 'kiroku.conf'), site.replace(`${deploy('nginx')}/kiroku-upstream.conf`, join(dir, 'upstream.conf')));
      writeFileSync(
        join(dir, 'nginx.conf'),
        `${process.getuid?.() === 0 ? 'user root;' : ''}
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {}
http {
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  include ${dir}/kiroku.conf;
}
`,
      );
      const check = spawnSync('nginx', ['-t', '-p', `${dir}/`, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
      expect(check.stderr).toMatch(/syntax is ok/);
      expect(check.stderr).toMatch(/test is successful/);
      nginx = spawn('nginx', ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
      for (let i = 0; ; i++) {
        if (nginx.exitCode !== null || i === 100) throw new Error(`nginx did not come up on ${httpPort}: ${readFileSync(join(dir, 'error.log'), 'utf8')}`);
        const up = await fetch(`http://127.0.0.1:${httpPort}/`, { redirect: 'manual', signal: AbortSignal.timeout(2000) }).then(
          (r) => r.status === 301,
          () => false,
        );
        if (up) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }, 60_000);

    afterAll(async () => {
      nginx?.kill('SIGQUIT');
      await app?.stop();
    });

    const https = (path: string) =>
      new Promise<{ status: number; raw: string[]; body: string }>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: httpsPort, path, servername: 'notes.example.com', headers: { host: 'notes.example.com' }, rejectUnauthorized: false },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode!, raw: res.rawHeaders, body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    const count = (raw: string[], name: string) => raw.filter((h, i) => i % 2 === 0 && h.toLowerCase() === name).length;

    it('sends plain HTTP to HTTPS', async () => {
      const res = await fetch(`http://127.0.0.1:${httpPort}/notes?x=1`, { redirect: 'manual' });
      expect(res.status).toBe(301);
      expect(res.headers.get('location')).toBe('https://notes.example.com/notes?x=1');
    });

    it('proxies over TLS with each security header exactly once (the app’s), HSTS included, and no nginx version', async () => {
      const res = await https('/login');
      expect(res.status).toBe(200);
      for (const header of [
        'strict-transport-security',
        'content-security-policy',
        'x-frame-options',
        'x-content-type-options',
        'referrer-policy',
        'permissions-policy',
      ]) {
        expect([header, count(res.raw, header)]).toEqual([header, 1]);
      }
      const server = res.raw[res.raw.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === 'server') + 1];
      expect(server).toBe('nginx');
    });

    it('keeps /metrics off the public address and answers for a missing app in problem+json', async () => {
      expect((await https('/metrics')).status).toBe(404);
      await app.stop();
      const down = await https('/notes');
      expect(down.status).toBe(503);
      expect(JSON.parse(down.body)).toMatchObject({ status: 503, title: 'Service Unavailable' });
      expect(count(down.raw, 'content-type')).toBe(1);
      const lines = readFileSync(join(dir, 'kiroku-access.log'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { path: string; tls: string });
      expect(lines.find((l) => l.path === '/login')!.tls).toMatch(/^TLSv1\.[23]$/);
    });
  },
);

withTool('systemd-analyze')('systemd units (deploy/systemd)', () => {
  it('pass systemd-analyze verify', () => {
    const dir = tempDir();
    for (const unit of readdirSync(deploy('systemd'))) {
      const text = readFileSync(deploy('systemd', unit), 'utf8').replaceAll('/usr/bin/node', process.execPath).replaceAll('/opt/kiroku', root);
      const instance = { 'kiroku@.service': 'kiroku@8881.service', 'kiroku-alert@.service': 'kiroku-alert@kiroku@8881.service.service' }[unit];
      writeFileSync(join(dir, instance ?? unit), text);
    }
    const out = spawnSync('systemd-analyze', ['verify', ...readdirSync(dir).map((u) => join(dir, u))], { encoding: 'utf8', cwd: dir });
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
  });

  it('tell the alert channels, without the database, when systemd gives up on a unit', () => {
    const unit = readFileSync(deploy('systemd', 'kiroku@.service'), 'utf8');
    expect(unit).toMatch(/^OnFailure=kiroku-alert@%n\.service$/m);
    const alert = readFileSync(deploy('systemd', 'kiroku-alert@.service'), 'utf8');
    expect(alert).toMatch(/^ExecStart=\/usr\/bin\/node \/opt\/kiroku\/dist\/src\/cli\.js alert notify --rule service-failed /m);
    expect(alert).toMatch(/^EnvironmentFile=\/etc\/kiroku\/kiroku\.env$/m);
  });

  it('keep the backup identity from the web units: the daily maintenance unit alone loads it, drills, then prunes', () => {
    const web = readFileSync(deploy('systemd', 'kiroku@.service'), 'utf8');
    expect(web).not.toMatch(/IDENTITY|LoadCredential/);
    const unit = readFileSync(deploy('systemd', 'kiroku-backup-maintenance.service'), 'utf8');
    expect([...unit.matchAll(/^ExecStart=\S+ \S+ (.*)$/gm)].map((m) => m[1])).toEqual(['backup verify --latest --drill', 'backup prune']);
    expect(unit).toMatch(/^LoadCredential=age-identity:\/etc\/kiroku\/backup-identity\.txt$/m);
    expect(unit).toMatch(/^Environment=.*BACKUP_AGE_IDENTITY_FILE=%d\/age-identity/m);
    expect(unit).toMatch(/^OnFailure=kiroku-alert@%n\.service$/m);
    expect(readFileSync(deploy('systemd', 'kiroku-backup-maintenance.timer'), 'utf8')).toMatch(/^OnCalendar=\*-\*-\* 04:00:00 UTC$/m);
  });

  it('stop gracefully within SHUTDOWN_GRACE_PERIOD, restart on failure, run hardened, on the ports nginx proxies to', () => {
    const unit = readFileSync(deploy('systemd', 'kiroku@.service'), 'utf8');
    const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1];
    expect(value('KillSignal')).toBe('SIGTERM');
    expect(parseDuration(value('TimeoutStopSec'))).toBeGreaterThanOrEqual(graceMs(undefined) + 5000);
    expect(value('Restart')).toBe('on-failure');
    expect(value('User')).toBe('kiroku');
    for (const key of ['NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'CapabilityBoundingSet', 'RestrictAddressFamilies', 'SystemCallFilter'])
      expect([key, value(key) !== undefined]).toEqual([key, true]);
    expect(value('Environment')).toMatch(/MIGRATIONS=off/);
    expect(value('Environment')).toMatch(/PORT=%i/);
    for (const name of (value('Environment') ?? '').split(' ').map((kv) => kv.split('=')[0])) expect([name, SETTINGS.has(name)]).toEqual([name, true]);
    const targetPorts = [...readFileSync(deploy('systemd', 'kiroku.target'), 'utf8').matchAll(/kiroku@(\d+)\.service/g)].map((m) => m[1]);
    const upstreamPorts = [...read('deploy/nginx/kiroku-upstream.conf').matchAll(/server 127\.0\.0\.1:(\d+)/g)].map((m) => m[1]);
    expect(targetPorts).toEqual(upstreamPorts);
  });
});
