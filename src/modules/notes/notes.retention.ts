import { Injectable, OnModuleInit } from '@nestjs/common';
import { RetentionRegistry } from '@kiroku/persistence';
import { TRASH_RETENTION_MS } from './notes.service';

/** Notes in the trash for more than 30 days are deleted for good, with their tags links and search entries. */
@Injectable()
export class NotesRetention implements OnModuleInit {
  constructor(private readonly registry: RetentionRegistry) {}

  onModuleInit(): void {
    this.registry.register({
      name: 'notes in the trash',
      table: 'notes',
      setting: '30 days in the trash (fixed)',
      olderThan: [{ column: 'deleted_at', ageMs: () => TRASH_RETENTION_MS }],
    });
  }
}
