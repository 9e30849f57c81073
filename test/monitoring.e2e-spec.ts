import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot, tempDir } from '@kiroku/testing';
import { parse, parseAllDocuments } from 'yaml';
import { RULES } from '../src/modules/alerts';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';

const DIR = join(projectRoot(), 'deploy', 'monitoring');
const TOKEN = 'metrics-token-for-promtool-0123456';

/** promtool (Debian: prometheus) checks the files as Prometheus would; in CI its absence is a failure. */
function promtoolMissing(): string | undefined {
  if (spawnSync('promtool', ['--version']).status === 0) return undefined;
  const reason = 'promtool not found (apt-get install prometheus)';
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI=true but ${reason}: the monitoring suite cannot be skipped in CI`);
  console.warn(`\n!!! ${reason}: the monitoring suite is SKIPPED !!!\n`);
  return reason;
}
const missing = promtoolMissing();
const promtool = (args: string[], input?: string) => spawnSync('promtool', args, { cwd: DIR, input, encoding: 'utf8' });

(missing ? describe.skip : describe)('deploy/monitoring', () => {
  it('holds valid Prometheus rules whose unit tests pass', () => {
    const check = promtool(['check', 'rules', 'prometheus-rules.yml']);
    expect(check.stdout + check.stderr).toContain('SUCCESS');
    expect(check.status).toBe(0);
    const test = promtool(['test', 'rules', 'prometheus-rules.test.yml']);
    expect(test.stdout + test.stderr).toContain('SUCCESS');
    expect(test.status).toBe(0);
  });

  it('has a dashboard whose every query Prometheus parses', () => {
    // promtool parses PromQL only in rule files: each panel query becomes a recording rule ($namespace: all).
    const dashboard = JSON.parse(readFileSync(join(DIR, 'grafana-dashboard.json'), 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const rules = dashboard.panels.flatMap((p, i) =>
      (p.targets ?? []).map((t, j) => ({ record: `dashboard:panel${i}_${j}`, expr: t.expr.replaceAll('$namespace', '.*') })),
    );
    const dir = tempDir();
    writeFileSync(join(dir, 'dashboard.rules.json'), JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
    const check = spawnSync('promtool', ['check', 'rules', 'dashboard.rules.json'], { cwd: dir, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('has an equivalent for every built-in rule', () => {
    const file = parse(readFileSync(join(DIR, 'prometheus-rules.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ labels?: Record<string, string> }> }> };
    const covered = new Set(file.groups.flatMap((g) => g.rules.map((r) => r.labels?.kiroku_rule)).filter(Boolean));
    expect([...covered].sort()).toEqual(Object.keys(RULES).sort());
  });
});

// The series the managed Prometheus stores for Kiroku's pods carry the target labels the Prometheus Operator
// gives a PodMonitor's targets (pkg/prometheus/promcfg.go, generatePodMonitorConfig): namespace, container and
// pod from discovery, job "<namespace>/<PodMonitor name>" unless jobLabel names a pod label with a value,
// endpoint the port name, instance the pod's address. Derived here from each overlay as kubectl renders it.
interface Target {
  overlay: string;
  job: string;
  namespace: string;
  container: string;
  endpoint: string;
  workload: string;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered manifests are read as any: the expectations are the check
type K8s = { kind: string; metadata: { name: string; namespace?: string }; spec: any };
function kustomize(overlay: string): K8s[] {
  const out = spawnSync('kubectl', ['kustomize', join(projectRoot(), 'deploy', 'k8s', 'overlays', overlay)], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`kubectl kustomize ${overlay} failed:\n${out.stderr}`);
  return parseAllDocuments(out.stdout)
    .map((d) => d.toJS() as K8s)
    .filter(Boolean);
}
function operatorTargets(transform: (monitor: K8s) => K8s = (m) => m): Target[] {
  return readdirSync(join(projectRoot(), 'deploy', 'k8s', 'overlays'))
    .sort()
    .map((overlay) => {
      const objects = kustomize(overlay);
      const monitor = transform(objects.find((o) => o.kind === 'PodMonitor')!);
      const selector = monitor.spec.selector.matchLabels as Record<string, string>;
      const workload = objects.find(
        (o) =>
          (o.kind === 'Deployment' || o.kind === 'StatefulSet') &&
          Object.entries(selector).every(([k, v]) => (o.spec.template.metadata.labels as Record<string, string>)[k] === v),
      )!;
      const endpoint = monitor.spec.podMetricsEndpoints[0].port as string;
      const container = (workload.spec.template.spec.containers as Array<{ name: string; ports?: Array<{ name: string }> }>).find((c) =>
        c.ports?.some((p) => p.name === endpoint),
      )!;
      const labels = workload.spec.template.metadata.labels as Record<string, string>;
      const namespace = monitor.metadata.namespace!;
      const jobLabel = monitor.spec.jobLabel as string | undefined;
      const job = (jobLabel && labels[jobLabel]) || `${namespace}/${monitor.metadata.name}`;
      return { overlay, job, namespace, container: container.name, endpoint, workload: workload.metadata.name };
    });
}

const TARGET_LABELS = ['job', 'namespace', 'pod', 'container', 'endpoint', 'instance'];
const ownSeries = (name: string) => name === 'up' || /^(kiroku|process|nodejs)_/.test(name);
function testSeries(): Array<{ name: string; labels: Record<string, string> }> {
  const file = parse(readFileSync(join(DIR, 'prometheus-rules.test.yml'), 'utf8')) as { tests: Array<{ input_series: Array<{ series: string }> }> };
  return file.tests.flatMap((t) =>
    t.input_series.map(({ series }) => {
      const [, name, body] = /^([a-zA-Z_:][\w:]*)\{(.*)\}$/.exec(series)!;
      return { name, labels: Object.fromEntries([...body.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]])) };
    }),
  );
}
/** promtool test rules, with Kiroku's input series labelled job=`job` (what a PodMonitor would give them). */
function promtoolTestWithJob(job: string) {
  const dir = tempDir();
  writeFileSync(join(dir, 'prometheus-rules.yml'), readFileSync(join(DIR, 'prometheus-rules.yml')));
  writeFileSync(
    join(dir, 'prometheus-rules.test.yml'),
    readFileSync(join(DIR, 'prometheus-rules.test.yml'), 'utf8').replaceAll('job="kiroku"', `job="${job}"`),
  );
  return spawnSync('promtool', ['test', 'rules', 'prometheus-rules.test.yml'], { cwd: dir, encoding: 'utf8' });
}
const kubectlMissing = spawnSync('sh', ['-c', 'command -v kubectl']).status !== 0;
if (kubectlMissing && process.env.CI === 'true') throw new Error('CI=true but kubectl missing (see .ci/install-tools)');

(missing || kubectlMissing ? describe.skip : describe)('deploy/monitoring on AKS: series as the PodMonitor labels them', () => {
  let targets: Target[];
  beforeAll(() => {
    targets = operatorTargets();
  });

  it('rules and dashboard select the one job every overlay’s PodMonitor gives its pods', () => {
    const jobs = [...new Set(targets.map((t) => t.job))];
    expect(jobs).toEqual(['kiroku']);
    const selectors = [
      ...readFileSync(join(DIR, 'prometheus-rules.yml'), 'utf8').matchAll(/\bjob\s*(=~|!=|=)\s*"([^"]*)"/g),
      ...readFileSync(join(DIR, 'grafana-dashboard.json'), 'utf8').matchAll(/\bjob\s*(=~|!=|=)\s*\\"([^"\\]*)\\"/g),
    ].map((m) => `${m[1]}${m[2]}`);
    expect(selectors.length).toBeGreaterThan(20);
    expect([...new Set(selectors)]).toEqual(['=kiroku']);
  });

  it('the promtool tests feed Kiroku series with exactly the Operator’s target labels (or a VM’s static job)', () => {
    const own = testSeries().filter((s) => ownSeries(s.name));
    expect(own.length).toBeGreaterThan(20);
    for (const { name, labels } of own) {
      const where = `${name}{${Object.entries(labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',')}}`;
      if (!('pod' in labels)) {
        // A VM's static scrape config: job and instance only.
        expect({ where, job: labels.job, namespace: labels.namespace }).toEqual({ where, job: 'kiroku', namespace: undefined });
        continue;
      }
      for (const label of TARGET_LABELS) expect({ where, has: label in labels }).toEqual({ where, has: true });
      // A pod of an overlay's workload, in that overlay's namespace.
      const target = targets.find((x) => x.namespace === labels.namespace && labels.pod.startsWith(`${x.workload}-`));
      expect({ where, overlay: !!target }).toEqual({ where, overlay: true });
      expect({ where, job: labels.job, container: labels.container, endpoint: labels.endpoint }).toEqual({
        where,
        job: target!.job,
        container: target!.container,
        endpoint: target!.endpoint,
      });
      expect(labels.instance).toMatch(/^\d+\.\d+\.\d+\.\d+:8888$/);
    }
  });

  it('the rule tests pass with the job the PodMonitor produces, and fail with the one it produced without jobLabel', () => {
    const pass = promtoolTestWithJob(targets[0].job);
    expect(pass.stdout + pass.stderr).toContain('SUCCESS');
    // The PodMonitor as it was before jobLabel: the Operator's "<namespace>/kiroku" matches none of the rules.
    const before = operatorTargets((m) => ({ ...m, spec: { ...m.spec, jobLabel: undefined } }));
    expect(before.map((t) => t.job)).toContain('kiroku/kiroku');
    const fail = promtoolTestWithJob('kiroku/kiroku');
    expect(fail.status).not.toBe(0);
    expect(fail.stdout + fail.stderr).toContain('FAILED');
  });
});

describeEachEngine('/metrics as Prometheus reads it', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    if (!missing) t = await startTestApp({ ...(await freshDatabase(engine)), METRICS_TOKEN: TOKEN, LOG_DIR: tempDir() });
  });
  afterAll(() => t?.close());

  (missing ? it.skip : it)('passes `promtool check metrics`, and every series the rules and the dashboard use is there', async () => {
    await fetch(`${t.url}/health/live`);
    const text = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    const check = promtool(['check', 'metrics'], text);
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);

    const present = new Set(
      text
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.split(/[{ ]/)[0].replace(/_(bucket|sum|count)$/, '')),
    );
    const exprs = [
      ...readFileSync(join(DIR, 'prometheus-rules.yml'), 'utf8').matchAll(/\b(kiroku_[a-z_]+|process_[a-z_]+|nodejs_[a-z0-9_]+)\b/g),
      ...readFileSync(join(DIR, 'grafana-dashboard.json'), 'utf8').matchAll(/\b(kiroku_[a-z_]+|process_[a-z_]+|nodejs_[a-z0-9_]+)\b/g),
    ].map((m) => m[1].replace(/_(bucket|sum|count)$/, ''));
    // kiroku_rule is a label. Backup and sweep figures exist only once one has run (the rule for "never" is written against their absence).
    const notYet = new Set([
      'kiroku_rule',
      'kiroku_backup_last_success_timestamp_seconds',
      'kiroku_backup_last_verified_timestamp_seconds',
      'kiroku_backup_newest_verified_timestamp_seconds',
      'kiroku_log_sweeper_files',
      'kiroku_log_sweeper_problems',
    ]);
    if (engine === 'sqlite') notYet.add('kiroku_db_pool_connections');
    expect([...new Set(exprs)].filter((name) => !present.has(name) && !notYet.has(name))).toEqual([]);
  });
});
