import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { projectRoot } from '@kiroku/testing';

// README.md, CONTRIBUTING.md, docs/**/*.md and deploy/**/*.md: every relative link reaches a file of the
// repository (and, with #anchor, a heading of that file, slugged as GitHub does), and no link leaves the repository.
const root = projectRoot();

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

const files = [join(root, 'README.md'), join(root, 'CONTRIBUTING.md'), ...markdownFiles(join(root, 'docs')), ...markdownFiles(join(root, 'deploy'))];
const rel = (path: string) => relative(root, path);

/** The text outside fenced code blocks, with inline code spans blanked: links and headings are only read there. */
function prose(text: string): string[] {
  const lines: string[] = [];
  let fence: string | undefined;
  for (const line of text.split('\n')) {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      lines.push('');
    } else if (marker) {
      fence = marker;
      lines.push('');
    } else {
      lines.push(line.replace(/(`+)[^`]*?\1/g, (span) => ' '.repeat(span.length)));
    }
  }
  return lines;
}

/** Link targets: inline links and images `[text](target "title")`, reference definitions `[id]: target`, and HTML href/src. */
function linksIn(text: string): string[] {
  const links: string[] = [];
  for (const line of prose(text)) {
    for (const m of line.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g)) links.push(m[1].replace(/^<|>$/g, ''));
    const definition = /^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(line);
    if (definition) links.push(definition[1].replace(/^<|>$/g, ''));
    for (const m of line.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/gi)) links.push(m[1]);
  }
  return links;
}

/** The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces to hyphens, -1, -2 … for repeats. */
function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const lines = text.split('\n');
  const plain = prose(text);
  const atx = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/;
  plain.forEach((line, i) => {
    // Found outside code blocks; read from the original line, whose inline code is part of the heading's text.
    if (!atx.test(line)) return;
    const title = atx
      .exec(lines[i])![1]
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text
      .replace(/<[^>]+>/g, '') // HTML tags
      .replace(/[`*]/g, ''); // code and emphasis markers
    const base = title
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  });
  return anchors;
}

type Problem = [file: string, link: string, problem: string];

function check(file: string, link: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(link)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') {
    const host = /^https?:\/\/([^/:?#]+)/i.exec(link)?.[1]?.toLowerCase();
    return host === 'localhost' || host === '127.0.0.1' ? undefined : 'leaves the repository (an outside site)';
  }
  if (scheme || link.startsWith('//')) return 'leaves the repository (not a relative link)';
  const hash = link.indexOf('#');
  const path = decodeURIComponent(hash === -1 ? link : link.slice(0, hash));
  const anchor = hash === -1 ? undefined : decodeURIComponent(link.slice(hash + 1));
  const target = path === '' ? file : path.startsWith('/') ? join(root, path) : resolve(dirname(file), path);
  const inside = relative(root, target);
  if (inside.startsWith('..') || isAbsolute(inside)) return 'leaves the repository (a path above its root)';
  if (!existsSync(target)) return `no such file: ${inside}`;
  if (anchor === undefined) return undefined;
  if (statSync(target).isDirectory() || !target.endsWith('.md')) return `an anchor on ${inside}, which is not a Markdown file`;
  return headingAnchors(readFileSync(target, 'utf8')).has(anchor) ? undefined : `no heading #${anchor} in ${inside}`;
}

describe('documentation links (README.md, CONTRIBUTING.md, docs/, deploy/)', () => {
  it('reads the files and finds their links', () => {
    expect(files.map(rel)).toEqual(expect.arrayContaining(['README.md', 'docs/README.md', 'docs/configuration.md']));
    expect(files.flatMap((f) => linksIn(readFileSync(f, 'utf8'))).length).toBeGreaterThan(50);
  });

  it('every relative link resolves to a file of the repository, and every #anchor to a heading of it', () => {
    const problems: Problem[] = [];
    for (const file of files) {
      for (const link of linksIn(readFileSync(file, 'utf8'))) {
        const problem = check(file, link);
        if (problem) problems.push([rel(file), link, problem]);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the checks themselves: outside sites, escaping paths, missing files and anchors are refused', () => {
    const readme = join(root, 'README.md');
    expect(check(readme, 'https://example.com/x')).toMatch(/leaves the repository/);
    expect(check(readme, 'http://localhost:8888/api/docs')).toBeUndefined();
    expect(check(readme, 'mailto:someone@example.com')).toMatch(/leaves the repository/);
    expect(check(readme, '../shared/spec/PRODUCT.md')).toMatch(/above its root/);
    expect(check(join(root, 'docs', 'README.md'), '../../shared/SECURITY.md')).toMatch(/above its root/);
    expect(check(readme, 'docs/no-such-page.md')).toMatch(/no such file/);
    expect(check(readme, 'docs/configuration.md#no-such-heading')).toMatch(/no heading/);
    expect(check(readme, 'docs/configuration.md#production-readiness-kiroku-check')).toBeUndefined();
    expect(headingAnchors('# A `b` (c), d!\n## Repeat\n## Repeat\n```\n# not a heading\n```\n## 記録 and LOG_DIR\n')).toEqual(
      new Set(['a-b-c-d', 'repeat', 'repeat-1', '記録-and-log_dir']),
    );
    expect(linksIn('[a](x.md) `[b](y.md)`\n```\n[c](z.md)\n```\n![d](e.png "title")\n[ref]: f.md\n')).toEqual(['x.md', 'e.png', 'f.md']);
  });

  it('the docs index lists every page under docs/', () => {
    const index = join(root, 'docs', 'README.md');
    const listed = new Set(linksIn(readFileSync(index, 'utf8')).map((link) => resolve(dirname(index), link.split('#')[0])));
    const pages = files.filter((f) => f.startsWith(join(root, 'docs') + '/') && f !== index);
    expect(pages.filter((page) => !listed.has(page)).map(rel)).toEqual([]);
  });

  it('the README stays a front page: under 8,000 characters', () => {
    expect(readFileSync(join(root, 'README.md'), 'utf8').length).toBeLessThan(8000);
  });
});
