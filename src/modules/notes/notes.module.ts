import { Module } from '@nestjs/common';
import { AuthModule } from '../auth';
import { WebModule } from '../web';
import { NotesApiController } from './notes-api.controller';
import { NotesArchiveController } from './notes-archive.controller';
import { NotesController } from './notes.controller';
import { NotesRepository } from './notes.repository';
import { NotesService } from './notes.service';
import { NotesRetention } from './notes.retention';

@Module({
  imports: [AuthModule, WebModule],
  controllers: [NotesController, NotesApiController, NotesArchiveController],
  providers: [NotesRepository, NotesService, NotesRetention],
  exports: [NotesService],
})
export class NotesModule {}
