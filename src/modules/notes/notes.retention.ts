import { Injectable, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '@kiroku/config';
import { RetentionRegistry } from '@kiroku/persistence';
import { TRASH_RETENTION_MS } from './notes.service';

/**
 * Notes in the trash for more than 30 days are deleted for good, with their tags links, search entries and
 * revisions; each note keeps the revisions of its last NOTE_REVISIONS_KEEP versions.
 */
@Injectable()
export class NotesRetention implements OnModuleInit {
  constructor(
    private readonly registry: RetentionRegistry,
    private readonly app: AppConfig,
  ) {}

  onModuleInit(): void {
    this.registry.register({
      name: 'notes in the trash',
      table: 'notes',
      setting: '30 days in the trash (fixed)',
      olderThan: [{ column: 'deleted_at', ageMs: () => TRASH_RETENTION_MS }],
    });
    this.registry.register({
      name: 'note revisions',
      table: 'note_revisions',
      setting: 'NOTE_REVISIONS_KEEP',
      // Versions rise by one per write, so the revisions of the `keep` versions before the current one are those less
      // than `keep` below it (one look-up by primary key per revision).
      beyond: () => ({
        where: `"version" < (SELECT n."version" FROM "notes" n WHERE n."id" = "note_revisions"."note_id") - :keep`,
        params: { keep: this.app.noteRevisionsKeep },
      }),
    });
  }
}
