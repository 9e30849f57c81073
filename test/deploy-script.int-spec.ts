import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { projectRoot, tempDir } from '@kiroku/testing';

// deploy/azure/deploy.sh against a fake `kubectl` on PATH (test/fixtures/fake-kubectl) that records each call and
// answers as a cluster would in four states: all good, no PodMonitor CRD, a failed migration, a failed rollout.
// The overlays are rendered by the real `kubectl kustomize`, so the applied files are the real manifests.
const root = projectRoot();
const realKubectl = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
if (!realKubectl && process.env.CI === 'true') throw new Error('CI=true but kubectl missing (see .ci/run)');
if (!realKubectl) console.warn('SKIPPED: deploy.sh with a fake kubectl (needs the real kubectl for `kustomize`)');

const DIGEST = `kirokuacr.azurecr.io/kiroku@sha256:${'ab12'.repeat(16)}`;
const JOB_POLL = 'get job kiroku-migrate -n kiroku -o jsonpath={.status.succeeded}/{.status.failed}/{.status.conditions[?(@.status=="True")].type}';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Each kubectl call, with the script's temporary file shown as FILE and the overlay folder as OVERLAY. */
  calls: string[];
  /** The files given to `kubectl apply -f`, in order, parsed. */
  applied: Array<Array<{ kind: string; spec?: { template?: { spec: { containers: Array<{ image: string }> } } } }>>;
}

function deploy(scenario: string, args = ['production', 'kiroku', DIGEST], extraEnv: Record<string, string> = {}): Run {
  const dir = tempDir();
  const bin = join(dir, 'bin');
  spawnSync('mkdir', [bin]);
  writeFileSync(join(bin, 'kubectl'), `#!/bin/sh\nexec bash ${join(root, 'test/fixtures/fake-kubectl')} "$@"\n`);
  chmodSync(join(bin, 'kubectl'), 0o755);
  const out = spawnSync('bash', [join(root, 'deploy/azure/deploy.sh'), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      FAKE_KUBECTL_DIR: dir,
      FAKE_KUBECTL_SCENARIO: scenario,
      REAL_KUBECTL: realKubectl,
      DEPLOY_POLL: '0',
      ...extraEnv,
    },
  });
  const callsFile = join(dir, 'calls');
  const calls = existsSync(callsFile)
    ? readFileSync(callsFile, 'utf8')
        .trim()
        .split('\n')
        .map((c) => c.replace(/\S*\/apply\.yaml/, 'FILE').replace(/^kustomize \S+\/deploy\/k8s\/overlays\//, 'kustomize OVERLAY/'))
    : [];
  const applied = readdirSync(dir)
    .filter((f) => /^apply-\d+\.yaml$/.test(f))
    .sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]))
    .map((f) =>
      parseAllDocuments(readFileSync(join(dir, f), 'utf8'))
        .map((d) => d.toJS() as Run['applied'][number][number])
        .filter(Boolean),
    );
  return { status: out.status, stdout: out.stdout, stderr: out.stderr, calls, applied };
}

const kinds = (objects: Run['applied'][number]) => objects.map((o) => o.kind).sort();
const images = (objects: Run['applied'][number]) =>
  objects.filter((o) => o.spec?.template).flatMap((o) => o.spec!.template!.spec.containers.map((c) => `${o.kind}: ${c.image}`));

(realKubectl ? describe : describe.skip)('deploy/azure/deploy.sh with a fake kubectl', () => {
  it('all good: CRD objects applied, the Job first and waited for, then the rollout; every pod on the one digest; exit 0', () => {
    const run = deploy('ok');
    // Only Kustomize's own notes (deprecated fields kept for old kubectl versions) on stderr, nothing of the script's.
    expect(run.stderr).not.toMatch(/deploy:/);
    expect(run.status).toBe(0);
    expect(run.calls).toEqual([
      'kustomize OVERLAY/production',
      'get crd podmonitors.azmonitoring.coreos.com',
      'get secret kiroku-secrets -n kiroku',
      'delete job kiroku-migrate -n kiroku --ignore-not-found --wait=true',
      'apply -f FILE -l app.kubernetes.io/component!=web',
      JOB_POLL,
      JOB_POLL,
      'apply -f FILE',
      'rollout status deployment/kiroku -n kiroku --timeout=600s',
      'get pods -n kiroku -l app.kubernetes.io/component=web -o wide',
    ]);
    expect(run.stdout).toMatch(/PodMonitor applied \(the cluster has the CRD podmonitors\.azmonitoring\.coreos\.com\)/);
    expect(run.stdout).toMatch(/migration Job complete/);
    expect(kinds(run.applied[1])).toContain('PodMonitor');
    // The Job and the Deployment run the same image, the one given by digest.
    expect(images(run.applied[1])).toEqual(['Deployment: ' + DIGEST, 'Job: ' + DIGEST]);
  });

  it('no CRD: the PodMonitor is left out and the script says so; everything else is deployed; exit 0', () => {
    const run = deploy('crd-missing');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/PodMonitor skipped: the cluster has no CRD podmonitors\.azmonitoring\.coreos\.com/);
    expect(run.calls).toContain('rollout status deployment/kiroku -n kiroku --timeout=600s');
    expect(run.applied).toHaveLength(2);
    for (const file of run.applied) expect(kinds(file)).not.toContain('PodMonitor');
    expect(kinds(run.applied[1])).toEqual(expect.arrayContaining(['ConfigMap', 'Deployment', 'Job', 'NetworkPolicy', 'Service']));
  });

  it('a failed migration pod: stops at once with the Job’s log, never applies the Deployment; exit 1', () => {
    const run = deploy('job-failed');
    expect(run.status).toBe(1);
    expect(run.calls.slice(-3)).toEqual([JOB_POLL, JOB_POLL, 'logs job/kiroku-migrate -n kiroku --tail=200']);
    expect(run.calls.filter((c) => c === 'apply -f FILE')).toEqual([]);
    expect(run.calls.some((c) => c.startsWith('rollout'))).toBe(false);
    expect(run.stderr).toMatch(/the migration Job failed/);
    expect(run.stderr).toMatch(/column "tasks" of relation "note" already exists/);
    expect(run.stderr).toMatch(/the running version keeps serving/);
  });

  it('a Job that never finishes: stops at DEPLOY_TIMEOUT with the Job’s log, never applies the Deployment; exit 1', () => {
    const run = deploy('job-stuck', undefined, { DEPLOY_TIMEOUT: '1', DEPLOY_POLL: '0.2' });
    expect(run.status).toBe(1);
    expect(run.calls.at(-1)).toBe('logs job/kiroku-migrate -n kiroku --tail=200');
    expect(run.calls.filter((c) => c === JOB_POLL).length).toBeGreaterThan(1);
    expect(run.calls.some((c) => c === 'apply -f FILE' || c.startsWith('rollout'))).toBe(false);
    expect(run.stderr).toMatch(/the migration Job did not finish within 1s/);
  });

  it('a failed rollout: undone and waited for; exit 1', () => {
    const run = deploy('rollout-failed');
    expect(run.status).toBe(1);
    expect(run.calls.slice(-4)).toEqual([
      'rollout status deployment/kiroku -n kiroku --timeout=600s',
      'get pods -n kiroku -l app.kubernetes.io/component=web -o wide',
      'rollout undo deployment/kiroku -n kiroku',
      'rollout status deployment/kiroku -n kiroku --timeout=600s',
    ]);
    expect(run.stderr).toMatch(/did not finish; undoing it/);
    expect(run.stderr).toMatch(/rolled back to the previous revision of deployment\/kiroku/);
  });

  it('refuses an image given by tag, before any kubectl call; exit 2', () => {
    const run = deploy('ok', ['production', 'kiroku', 'kirokuacr.azurecr.io/kiroku:main']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/must be pinned by digest/);
    expect(run.calls).toEqual([]);
  });

  it('single (a StatefulSet, no Job): no migration step, the StatefulSet’s rollout is waited for', () => {
    const run = deploy('ok', ['single', 'kiroku', DIGEST]);
    expect(run.status).toBe(0);
    expect(run.calls.some((c) => c.includes('kiroku-migrate'))).toBe(false);
    expect(run.calls).toContain('rollout status statefulset/kiroku -n kiroku --timeout=600s');
    expect(images(run.applied[0])).toEqual(['StatefulSet: ' + DIGEST]);
  });
});
