#!/usr/bin/env node
'use strict';
// The branch model of CONTRIBUTING.md as a check: `node scripts/check-branch-model.js SOURCE TARGET` exits 0 when a
// pull request from SOURCE into TARGET follows it, and 1 with the reason and the allowed targets when it does not.
// CI runs it on every pull request (.github/workflows/ci.yml, job branch-model), so a wrong base fails before review.

/** Each allowed pull request: a source branch (exact, or a prefix ending in /) and the branches it may go into. */
const MODEL = [
  { source: 'feature/', targets: ['dev'], why: 'a feature goes into dev' },
  { source: 'dev', targets: ['stg'], why: 'dev is promoted to stg' },
  { source: 'stg', targets: ['main'], why: 'stg is released to main' },
  { source: 'hotfix/', targets: ['main', 'dev'], why: 'a hotfix goes into main, and back into dev' },
  { source: 'main', targets: ['stg', 'dev'], why: 'after a hotfix, main is merged back into stg and dev' },
];

/** A branch name after its prefix (feature/<short-name>): lower-case words with dashes, dots or digits. */
const SHORT_NAME = /^[a-z0-9][a-z0-9._-]*$/;

function ruleFor(source) {
  return MODEL.find((r) => (r.source.endsWith('/') ? source.startsWith(r.source) : source === r.source));
}

/** null when a pull request SOURCE → TARGET follows the model, else the reason it does not. */
function check(source, target) {
  const rule = ruleFor(source);
  if (!rule) {
    const sources = MODEL.map((r) => (r.source.endsWith('/') ? `${r.source}<short-name>` : r.source)).join(', ');
    return `${source} is not a branch of the model: pull requests come from ${sources}`;
  }
  if (rule.source.endsWith('/') && !SHORT_NAME.test(source.slice(rule.source.length))) {
    return `${source}: the name after ${rule.source} is lower-case letters, digits, dots and dashes (${rule.source}<short-name>)`;
  }
  if (!rule.targets.includes(target)) return `${source} → ${target} breaks the model: ${rule.why} (allowed: ${rule.targets.join(', ')})`;
  return null;
}

module.exports = { MODEL, check };

if (require.main === module) {
  const [source, target] = process.argv.slice(2);
  if (!source || !target) {
    console.error('usage: check-branch-model.js SOURCE_BRANCH TARGET_BRANCH');
    process.exit(2);
  }
  const problem = check(source, target);
  if (problem) {
    console.error(`branch model: ${problem} (CONTRIBUTING.md, Branches)`);
    process.exit(1);
  }
  console.log(`branch model: ${source} → ${target} follows it`);
}
