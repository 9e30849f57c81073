import { Injectable, OnModuleInit } from '@nestjs/common';
import { TaskScheduler } from '@kiroku/scheduler';
import { NotesService } from './notes.service';

/** Daily, one replica deletes notes that have been in the trash for more than 30 days. */
@Injectable()
export class PurgeTrashTask implements OnModuleInit {
  static readonly ID = 'purge-trash';

  constructor(
    private readonly scheduler: TaskScheduler,
    private readonly notes: NotesService,
  ) {}

  onModuleInit(): void {
    this.scheduler.register({
      id: PurgeTrashTask.ID,
      cron: '30 3 * * *',
      leaseMs: 10 * 60_000,
      run: async ({ signal }) => {
        await this.notes.purgeTrash(500, signal);
      },
    });
  }
}
