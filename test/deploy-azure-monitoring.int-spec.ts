import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '@kiroku/testing';

// deploy/azure/monitoring.bicep, read as text: there is no bicep or az CLI here (and none in CI), so this checks
// what an operator relies on the template to set, the rule groups' one source, and the example parameters.
// checkov (.ci/run) checks the template's security settings where PyPI is reachable.
const root = projectRoot();
const read = (...p: string[]) => readFileSync(join(root, ...p), 'utf8');
const bicep = read('deploy/azure/monitoring.bicep');

/** Each `resource name 'Type@version' … { body }` of the template, its body found by matching braces. */
function resources(text: string): Array<{ name: string; type: string; body: string }> {
  const out: Array<{ name: string; type: string; body: string }> = [];
  for (const m of text.matchAll(/^resource (\w+) '([^'@]+)@[^']+'( existing)? = [^{]*?\{/gm)) {
    let depth = 0;
    let end = m.index + m[0].length - 1;
    for (; end < text.length; end++) {
      if (text[end] === '{') depth++;
      else if (text[end] === '}' && --depth === 0) break;
    }
    out.push({ name: m[1], type: m[2], body: text.slice(m.index + m[0].length, end) });
  }
  return out;
}
const all = resources(bicep);
const one = (type: string) => {
  const found = all.filter((r) => r.type === type);
  expect(found.map((r) => r.type)).toEqual([type]);
  return found[0].body;
};
/** `param name type = default` lines, with their decorators. */
function params(text: string): Map<string, { type: string; default?: string; decorators: string }> {
  const out = new Map<string, { type: string; default?: string; decorators: string }>();
  for (const m of text.matchAll(/((?:^@.*\n)*)^param (\w+) (\w+)(?: = (.+))?$/gm)) out.set(m[2], { type: m[3], default: m[4], decorators: m[1] });
  return out;
}
const declared = params(bicep);

interface PromRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
}
interface AzureRule {
  alert: string;
  expression: string;
  for: string;
  severity: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  enabled: boolean;
}

describe('Azure Monitor as code (deploy/azure/monitoring.bicep)', () => {
  it('deploys the managed Prometheus rule groups from the one rules file, notifying the action group', () => {
    const yaml = parse(read('deploy/monitoring/prometheus-rules.yml')) as { groups: Array<{ name: string; rules: PromRule[] }> };
    const json = JSON.parse(read('deploy/azure/prometheus-rule-groups.json')) as { groups: Array<{ name: string; interval: string; rules: AzureRule[] }> };
    // Byte for byte what the generator makes of today's YAML.
    const check = spawnSync(process.execPath, ['deploy/azure/generate-rule-groups.mjs', '--check'], { cwd: root, encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    // And, read independently, the same rules: Azure's field names, ISO durations, severities 0 critical / 2 warning.
    const iso: Record<string, string> = { '5m': 'PT5M', '26h': 'PT26H' };
    expect(json.groups.map((g) => g.name)).toEqual(yaml.groups.map((g) => g.name));
    yaml.groups.forEach((group, i) => {
      expect(json.groups[i].interval).toBe('PT1M');
      expect(json.groups[i].rules).toEqual(
        group.rules.map((r) => ({
          alert: r.alert,
          expression: r.expr.trim(),
          for: iso[r.for!],
          severity: { critical: 0, warning: 2 }[r.labels.severity],
          labels: r.labels,
          annotations: r.annotations ?? {},
          enabled: true,
          resolveConfiguration: { autoResolved: true, timeToResolve: 'PT5M' },
        })),
      );
    });
    expect(bicep).toContain("loadJsonContent('prometheus-rule-groups.json').groups");
    const groups = one('Microsoft.AlertsManagement/prometheusRuleGroups');
    expect(groups).toMatch(/scopes: \[prometheus\.id, aks\.id\]/);
    expect(groups).toContain('clusterName: aksClusterName');
    expect(groups).toMatch(/rules: map\(group\.rules, rule => union\(rule, \{ actions: \[\{ actionGroupId: actionGroup\.id \}\] \}\)\)/);
    expect(one('Microsoft.Monitor/accounts')).toBeDefined();
  });

  it('keeps container logs 90 days in the Log Analytics workspace, and no less', () => {
    expect(declared.get('logRetentionDays')).toMatchObject({ type: 'int', default: '90' });
    expect(declared.get('logRetentionDays')!.decorators).toContain('@minValue(90)');
    expect(one('Microsoft.OperationalInsights/workspaces')).toContain('retentionInDays: logRetentionDays');
    const table = one('Microsoft.OperationalInsights/workspaces/tables');
    // The table Container Insights writes with schema v2, which deploy/k8s/cluster-wide selects.
    expect(table).toContain("name: 'ContainerLogV2'");
    expect(read('deploy/k8s/cluster-wide/container-azm-ms-agentconfig.yaml')).toContain('containerlog_schema_version = "v2"');
    expect(table).toContain('retentionInDays: logRetentionDays');
    expect(table).toContain('totalRetentionInDays: logRetentionDays');
  });

  it('has an action group of e-mail and an optional secret webhook', () => {
    const group = one('Microsoft.Insights/actionGroups');
    expect(group).toMatch(/emailReceivers: \[\s*for \(address, i\) in alertEmails:/);
    expect(group).toContain('serviceUri: alertWebhookUrl');
    expect(group).toContain('useCommonAlertSchema: true');
    expect(declared.get('alertEmails')!.decorators).toContain('@minLength(1)');
    expect(declared.get('alertWebhookUrl')!.decorators).toContain('@secure()');
  });

  it('tests PUBLIC_URL/health/ready from several regions and alerts on it', () => {
    const test = one('Microsoft.Insights/webtests');
    expect(test).toContain("kind: 'standard'");
    expect(test).toContain("RequestUrl: '${publicUrl}/health/ready'");
    expect(test).toContain('ExpectedHttpStatusCode: 200');
    expect(test).toContain("'hidden-link:${insights.id}': 'Resource'");
    const locations = /var testLocations = \[(.*)\]/.exec(bicep)![1].split(',');
    expect(locations.length).toBeGreaterThanOrEqual(5);
    const alert = one('Microsoft.Insights/metricAlerts');
    expect(alert).toContain("'odata.type': 'Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria'");
    expect(alert).toContain('webTestId: readyTest.id');
    expect(alert).toMatch(/failedLocationCount: [1-3]\b/);
    expect(alert).toContain('actions: [{ actionGroupId: actionGroup.id }]');
  });

  it('stores backups with soft delete and a 30-day time-based immutability policy, never public', () => {
    const account = one('Microsoft.Storage/storageAccounts');
    for (const line of ['allowBlobPublicAccess: false', "minimumTlsVersion: 'TLS1_2'", 'supportsHttpsTrafficOnly: true', "defaultAction: 'Deny'"])
      expect(account).toContain(line);
    const blobs = one('Microsoft.Storage/storageAccounts/blobServices');
    expect(blobs).toContain('deleteRetentionPolicy: { enabled: true, days: softDeleteDays }');
    expect(blobs).toContain('containerDeleteRetentionPolicy: { enabled: true, days: softDeleteDays }');
    expect(one('Microsoft.Storage/storageAccounts/blobServices/containers')).toContain("publicAccess: 'None'");
    const policy = one('Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies');
    expect(policy).toContain('immutabilityPeriodSinceCreationInDays: immutabilityDays');
    expect(declared.get('immutabilityDays')).toMatchObject({ type: 'int', default: '30' });
    // The container is the one the AKS manifests name; their pruning never meets a blob still locked: a backup is
    // pruned by its start time, its blob locked from its finish, so retention must exceed the lock by a day.
    const config = (parse(read('deploy/k8s/base/configmap.yaml')) as { data: Record<string, string> }).data;
    expect(declared.get('backupContainerName')!.default).toBe(`'${config.BACKUP_AZURE_CONTAINER}'`);
    expect(Number(config.BACKUP_RETENTION_DAYS)).toBeGreaterThan(Number(declared.get('immutabilityDays')!.default));
  });

  it('justifies every checkov skip on its own line', () => {
    const skips = [...bicep.matchAll(/checkov:skip=([^\n]*)/g)].map((m) => m[1]);
    expect(skips.length).toBeGreaterThan(0);
    for (const skip of skips) expect(skip).toMatch(/^CKV2?_AZURE_\d+: .{30,}$/);
  });

  it('has example parameters that name only declared parameters and give every required one', () => {
    const example = JSON.parse(read('deploy/azure/monitoring.parameters.example.json')) as { parameters: Record<string, { value: unknown }> };
    const given = Object.keys(example.parameters);
    expect(given.filter((p) => !declared.has(p))).toEqual([]);
    const required = [...declared].filter(([, p]) => p.default === undefined).map(([name]) => name);
    // The webhook URL is a secret: given on the command line, never in a file.
    expect(required.filter((p) => !given.includes(p))).toEqual([]);
    expect(given).not.toContain('alertWebhookUrl');
  });
});
