import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './paths';
import { renderUpstream } from './cluster';

describe('renderUpstream (the harness’s nginx upstream, from deploy/nginx/kiroku-upstream.conf)', () => {
  const template = readFileSync(join(projectRoot(), 'deploy/nginx/kiroku-upstream.conf'), 'utf8');

  it('has one server line per port, each with the parameters of the file’s own server lines', () => {
    const out = renderUpstream(template, [4001, 4002, 4003]);
    const servers = out
      .split('\n')
      .filter((l) => /^\s*server /.test(l))
      .map((l) => l.trim());
    expect(servers).toEqual([
      'server 127.0.0.1:4001 max_fails=1 fail_timeout=5s;',
      'server 127.0.0.1:4002 max_fails=1 fail_timeout=5s;',
      'server 127.0.0.1:4003 max_fails=1 fail_timeout=5s;',
    ]);
    // Everything else of the operator's file stays: the upstream's name and its keepalive settings.
    expect(out).toContain('upstream kiroku {');
    expect(out).toMatch(/^\s*keepalive 32;$/m);
    expect(out).toMatch(/^\s*keepalive_timeout 4s;$/m);
  });

  it('marks the processes out of rotation as down', () => {
    const out = renderUpstream(template, [4001, 4002], new Set([1]));
    expect(out).toMatch(/server 127\.0\.0\.1:4001 max_fails=1 fail_timeout=5s;/);
    expect(out).toMatch(/server 127\.0\.0\.1:4002 max_fails=1 fail_timeout=5s down;/);
  });

  it('refuses a template without a server line', () => {
    expect(() => renderUpstream('upstream kiroku {\n}\n', [4001])).toThrow(/no server line/);
  });
});
