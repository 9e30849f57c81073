import { Module } from '@nestjs/common';
import { AuthModule } from '../auth';
import { NotesApiController } from './notes-api.controller';
import { NotesArchiveController } from './notes-archive.controller';
import { NotesController } from './notes.controller';
import { NotesService } from './notes.service';
import { PurgeTrashTask } from './purge-trash.task';

@Module({
  imports: [AuthModule],
  controllers: [NotesController, NotesApiController, NotesArchiveController],
  providers: [NotesService, PurgeTrashTask],
  exports: [NotesService],
})
export class NotesModule {}
