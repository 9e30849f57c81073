import type * as Jsdiff from 'diff';
import { sameContent, type RevisionView } from './notes.repository';

export interface DiffLine {
  kind: 'added' | 'removed' | 'same';
  text: string;
}

/** A run of unchanged lines left out of a diff: how many. */
export interface DiffGap {
  kind: 'gap';
  lines: number;
}

/** What changed between two versions of a note: each field that differs, and the body line by line. */
export interface NoteDiff {
  /** Nothing differs. */
  same: boolean;
  fields: Array<{ field: 'title' | 'tags' | 'visibility' | 'editableByTeam'; before: string; after: string }>;
  body: Array<DiffLine | DiffGap>;
}

/** Unchanged lines shown around each change; longer runs between changes are folded into a gap. */
const CONTEXT = 3;

type Content = Pick<RevisionView, 'title' | 'body' | 'tags' | 'visibility' | 'editableByTeam'>;

/** The changes from `before` to `after`, the body as a line diff (jsdiff) with unchanged stretches folded. */
export function diffNotes(before: Content, after: Content): NoteDiff {
  const fields: NoteDiff['fields'] = [];
  if (before.title !== after.title) fields.push({ field: 'title', before: before.title, after: after.title });
  if (before.tags.join(' ') !== after.tags.join(' ')) fields.push({ field: 'tags', before: before.tags.join(', '), after: after.tags.join(', ') });
  if (before.visibility !== after.visibility) fields.push({ field: 'visibility', before: before.visibility, after: after.visibility });
  if (before.editableByTeam !== after.editableByTeam)
    fields.push({ field: 'editableByTeam', before: String(before.editableByTeam), after: String(after.editableByTeam) });
  return { same: sameContent(before, after), fields, body: before.body === after.body ? [] : fold(lineDiff(before.body, after.body)) };
}

let jsdiff: typeof Jsdiff | undefined;

function lineDiff(before: string, after: string): DiffLine[] {
  // Loaded on the first diff, not at every start-up (only history and conflict pages use it).
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
  jsdiff ??= require('diff') as typeof Jsdiff;
  const lines: DiffLine[] = [];
  for (const part of jsdiff.diffLines(before, after)) {
    const kind = part.added ? 'added' : part.removed ? 'removed' : 'same';
    const text = part.value.endsWith('\n') ? part.value.slice(0, -1) : part.value;
    for (const line of text.split('\n')) lines.push({ kind, text: line });
  }
  return lines;
}

/** Keeps CONTEXT unchanged lines on each side of every change; the rest of each unchanged run becomes a gap. */
function fold(lines: DiffLine[]): Array<DiffLine | DiffGap> {
  const near = lines.map(() => false);
  lines.forEach((line, i) => {
    if (line.kind === 'same') return;
    for (let j = Math.max(0, i - CONTEXT); j <= Math.min(lines.length - 1, i + CONTEXT); j++) near[j] = true;
  });
  const out: Array<DiffLine | DiffGap> = [];
  lines.forEach((line, i) => {
    if (near[i]) out.push(line);
    else {
      const last = out[out.length - 1];
      if (last?.kind === 'gap') last.lines++;
      else out.push({ kind: 'gap', lines: 1 });
    }
  });
  return out;
}
