import { Readable } from 'node:stream';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import YAML from 'yaml';
import type yauzl from 'yauzl';
import type Yazl from 'yazl';
import { printable, textProblem } from '../web';
import { CreateNoteDto } from './note.dto';
import { NoteInput, NoteView } from './notes.service';
import { normalizeTag } from './tag';
import { fieldProblems } from './validation';

// The zip libraries are loaded by the first export or import of a notebook, not at every start-up.
/* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use, see above */
const zipWriter = () => require('yazl') as typeof Yazl;
const zipReader = () => require('yauzl') as typeof yauzl;
/* eslint-enable @typescript-eslint/no-require-imports */

/** What an uploaded zip may hold: enough for a large notebook, too little for a zip bomb to hurt. */
export const NOTES_ZIP_LIMITS = {
  /** The upload itself (compressed). */
  uploadBytes: 10 * 1024 * 1024,
  /** Entries of any kind, directories included. */
  entries: 10_000,
  /** Markdown files imported. */
  notes: 5_000,
  /** One Markdown file, inflated: a 100,000-character body in UTF-8 plus its front matter. */
  fileBytes: 512 * 1024,
  /** Everything inflated together. */
  totalBytes: 64 * 1024 * 1024,
};

/** Notes read from one batch of ids at a time, so an export holds one batch in memory. */
const EXPORT_BATCH = 200;

/**
 * A Markdown file: YAML front matter (title, tags, visibility, editableByTeam when true, dates) and the body,
 * exactly as stored.
 */
export function toMarkdown(note: NoteView): string {
  const front = YAML.stringify(
    {
      title: note.title,
      tags: note.tags,
      visibility: note.visibility,
      ...(note.editableByTeam ? { editableByTeam: true } : {}),
      created: note.createdAt.toISOString(),
      updated: note.updatedAt.toISOString(),
    },
    { lineWidth: 0 },
  );
  return `---\n${front}---\n${note.body}`;
}

/**
 * File names from titles: letters and digits of any script kept, everything
 * a file system or a shell could trip on replaced, at most 80 characters,
 * unique without regard to case (two "Plan" notes: Plan.md, Plan-2.md).
 */
export function fileNames(titles: string[]): string[] {
  const taken = new Set<string>();
  return titles.map((title) => {
    let stem = [
      ...title
        .normalize('NFC')
        .replace(/[^\p{L}\p{N}\p{M} _-]+/gu, '-')
        .replace(/[\s-]+/g, (m) => (m.includes('-') ? '-' : ' '))
        .replace(/^[\s.-]+|[\s.-]+$/g, ''),
    ]
      .slice(0, 80)
      .join('')
      .trim();
    if (!stem || /^(con|prn|aux|nul|com\d|lpt\d)$/i.test(stem)) stem = `note${stem ? `-${stem}` : ''}`;
    let name = `${stem}.md`;
    for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${stem}-${n}.md`;
    taken.add(name.toLowerCase());
    return name;
  });
}

/**
 * A zip of the owner's notes as Markdown files, streamed: each batch of notes
 * is read from the database only when the zip writer reaches it.
 */
export function markdownZip(list: Array<{ id: string; title: string }>, load: (ids: string[]) => Promise<NoteView[]>): Readable {
  const zip = new (zipWriter().ZipFile)();
  const names = fileNames(list.map((n) => n.title));
  let cached: { start: number; notes: Map<string, NoteView> } | undefined;
  const noteAt = async (i: number): Promise<NoteView | undefined> => {
    const start = i - (i % EXPORT_BATCH);
    if (cached?.start !== start) {
      const notes = await load(list.slice(start, start + EXPORT_BATCH).map((n) => n.id));
      cached = { start, notes: new Map(notes.map((n) => [n.id, n])) };
    }
    return cached.notes.get(list[i].id);
  };
  list.forEach((entry, i) => {
    zip.addReadStreamLazy(names[i], { mtime: new Date() }, (done) => {
      noteAt(i).then(
        // A note trashed since the list was read: an empty file would be a lie, so a short notice instead.
        (note) =>
          done(
            null,
            Readable.from([Buffer.from(note ? toMarkdown(note) : `---\ntitle: ${JSON.stringify(entry.title)}\n---\n(moved to the trash during the export)\n`)]),
          ),
        (error: Error) => done(error, undefined as never),
      );
    });
  });
  zip.end();
  return zip.outputStream as unknown as Readable;
}

export interface ImportedNote extends NoteInput {
  createdAt: Date;
  updatedAt: Date;
}

export interface ZipReading {
  notes: ImportedNote[];
  /** Entries that are not Markdown files (images, folders, macOS metadata): left out. */
  skipped: number;
  /** What is wrong, one line per file; when any, nothing is imported. */
  problems: string[];
}

/** Reads an uploaded zip of Markdown files; never trusts its headers for sizes, never writes a file. */
export async function readMarkdownZip(upload: Buffer, now: Date): Promise<ZipReading> {
  const problems: string[] = [];
  const notes: ImportedNote[] = [];
  let skipped = 0;
  let zip: yauzl.ZipFile;
  try {
    zip = await zipReader().fromBufferPromise(upload, { lazyEntries: true, validateEntrySizes: true, decodeStrings: true });
  } catch (error) {
    return { notes, skipped, problems: ['not a zip file, or one cut short'] };
  }
  let entries = 0;
  let total = 0;
  try {
    for await (const entry of zip.eachEntry()) {
      if (++entries > NOTES_ZIP_LIMITS.entries) throw new Error(`more than ${NOTES_ZIP_LIMITS.entries} entries`);
      const name = entry.fileName;
      const base = name.split('/').pop()!;
      if (name.endsWith('/') || name.startsWith('__MACOSX/') || base.startsWith('.') || !/\.(md|markdown)$/i.test(base)) {
        skipped++;
        continue;
      }
      if (notes.length + problems.length >= NOTES_ZIP_LIMITS.notes) throw new Error(`more than ${NOTES_ZIP_LIMITS.notes} Markdown files`);
      // The text rule on the name too: it becomes the title when the front matter has none, and is shown in problems.
      const nameProblem = textProblem(name, { min: 1, max: 1000 });
      if (nameProblem) {
        problems.push(`${printable(name).slice(0, 200)}: the file name ${nameProblem.message}`);
        continue;
      }
      if (entry.uncompressedSize > NOTES_ZIP_LIMITS.fileBytes) {
        problems.push(`${name}: larger than ${NOTES_ZIP_LIMITS.fileBytes / 1024} KiB`);
        continue;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      // Counted as inflated too: a header may lie (yauzl also refuses an entry whose size differs from its header).
      for await (const chunk of await zip.openReadStreamPromise(entry)) {
        size += (chunk as Buffer).length;
        total += (chunk as Buffer).length;
        if (size > NOTES_ZIP_LIMITS.fileBytes || total > NOTES_ZIP_LIMITS.totalBytes)
          throw new Error(`more than ${NOTES_ZIP_LIMITS.totalBytes / 1024 / 1024} MiB once unpacked`);
        chunks.push(chunk as Buffer);
      }
      const parsed = parseMarkdown(name, Buffer.concat(chunks).toString('utf8'), now);
      if ('problem' in parsed) problems.push(parsed.problem);
      else notes.push(parsed);
    }
  } catch (error) {
    return { notes: [], skipped, problems: [`the zip cannot be read: ${(error as Error).message}`] };
  } finally {
    zip.close();
  }
  if (!notes.length && !problems.length) problems.push('the zip holds no Markdown (.md) files');
  return { notes: problems.length ? [] : notes, skipped, problems };
}

/** One Markdown file with optional front matter, checked by the same rules as the note form. */
export function parseMarkdown(name: string, text: string, now: Date): ImportedNote | { problem: string } {
  const source = text.replace(/^\uFEFF/, '');
  let meta: Record<string, unknown> = {};
  let body = source;
  const front = /^---\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/.exec(source);
  if (front) {
    try {
      const value: unknown = YAML.parse(front[1], { maxAliasCount: 10 });
      if (value !== null && (typeof value !== 'object' || Array.isArray(value))) throw new Error('not a mapping');
      meta = (value ?? {}) as Record<string, unknown>;
    } catch (error) {
      return { problem: `${name}: the front matter is not valid YAML (${(error as Error).message.split('\n')[0]})` };
    }
    body = source.slice(front[0].length);
  }
  const stem = name
    .split('/')
    .pop()!
    .replace(/\.(md|markdown)$/i, '');
  const title = typeof meta.title === 'string' || typeof meta.title === 'number' ? String(meta.title).trim() : stem.trim();
  const rawTags = Array.isArray(meta.tags) ? meta.tags : typeof meta.tags === 'string' ? meta.tags.split(',') : meta.tags == null ? [] : null;
  if (rawTags === null) return { problem: `${name}: tags must be a list` };
  const tags = [...new Set(rawTags.map((t) => normalizeTag(String(t))).filter(Boolean))];
  const visibility = meta.visibility ?? 'private';
  const editableByTeam = meta.editableByTeam ?? false;
  const dto = plainToInstance(CreateNoteDto, { title, body: body.replace(/\r\n/g, '\n'), tags, visibility, editableByTeam });
  const problems = fieldProblems(validateSync(dto, { whitelist: true }));
  if (problems.length) return { problem: `${name}: ${problems[0].field} ${problems[0].message}` };
  const createdAt = date(meta.created ?? meta.date, now);
  const updatedAt = date(meta.updated, createdAt ?? now);
  if (!createdAt || !updatedAt) return { problem: `${name}: created and updated must be dates such as 2026-11-29T10:00:00Z` };
  return {
    title: dto.title,
    body: dto.body,
    tags: dto.tags ?? [],
    visibility: dto.visibility ?? 'private',
    editableByTeam: dto.editableByTeam ?? false,
    createdAt,
    updatedAt,
  };
}

function date(value: unknown, fallback: Date): Date | null {
  if (value === undefined || value === null) return fallback;
  const d = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : null;
  return d && !Number.isNaN(d.getTime()) && d.getTime() > 0 && d.getTime() < 253402300800000 ? d : null;
}
