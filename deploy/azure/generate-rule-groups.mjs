#!/usr/bin/env node
// Generates prometheus-rule-groups.json (the Azure Monitor managed Prometheus rule groups that monitoring.bicep
// deploys) from deploy/monitoring/prometheus-rules.yml, the one source of the rules.
//   node deploy/azure/generate-rule-groups.mjs           rewrite the JSON
//   node deploy/azure/generate-rule-groups.mjs --check   exit 1 when the JSON is not what the YAML gives
// Azure's rule format differs from Prometheus's in three ways handled here: `expression` for `expr`, ISO 8601
// durations (PT5M) for `for` and the evaluation interval, and a numeric severity (0 critical … 4 verbose).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, '..', 'monitoring', 'prometheus-rules.yml');
const target = join(here, 'prometheus-rule-groups.json');

// The rules' evaluation interval: the built-in rules' ALERT_EVAL_INTERVAL default, and promtool's in the tests.
const INTERVAL = 'PT1M';
// How long a condition must stay clear before Azure resolves the alert: ALERT_RECOVERY's default.
const TIME_TO_RESOLVE = 'PT5M';
const SEVERITY = { critical: 0, warning: 2 };

/** A Prometheus duration (5m, 26h, 1h30m) as ISO 8601 (PT5M, PT26H, PT1H30M). */
function isoDuration(duration) {
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  const parts = [...duration.matchAll(/(\d+)([smhdw])/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== duration) throw new Error(`not a Prometheus duration: ${duration}`);
  let seconds = parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u], 0);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds %= 3600) / 60);
  const s = seconds % 60;
  return `PT${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s || (!h && !m) ? `${s}S` : ''}`;
}

function ruleGroups(yamlText) {
  const file = parse(yamlText);
  return {
    $comment: 'Generated from deploy/monitoring/prometheus-rules.yml by deploy/azure/generate-rule-groups.mjs: edit the YAML, then run it.',
    groups: file.groups.map((group) => ({
      name: group.name,
      interval: INTERVAL,
      rules: group.rules.map((rule) => {
        if (!rule.alert) throw new Error(`only alerting rules are generated; ${rule.record} is a recording rule`);
        const severity = SEVERITY[rule.labels?.severity];
        if (severity === undefined) throw new Error(`${rule.alert}: severity label must be one of ${Object.keys(SEVERITY).join(', ')}`);
        return {
          alert: rule.alert,
          expression: rule.expr.trim(),
          for: isoDuration(rule.for ?? '0s'),
          severity,
          labels: rule.labels,
          annotations: rule.annotations ?? {},
          enabled: true,
          resolveConfiguration: { autoResolved: true, timeToResolve: TIME_TO_RESOLVE },
        };
      }),
    })),
  };
}

const json = `${JSON.stringify(ruleGroups(readFileSync(source, 'utf8')), null, 2)}\n`;
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing: reported below like any difference
  }
  if (current !== json) {
    console.error(`${target} is not what ${source} gives: run node deploy/azure/generate-rule-groups.mjs`);
    process.exit(1);
  }
} else {
  writeFileSync(target, json);
}
