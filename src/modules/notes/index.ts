export { NotesModule } from './notes.module';
export { NotesService, TRASH_RETENTION_MS, type NoteView, type NoteInput } from './notes.service';
export { Note, type Visibility } from './note.entity';
export { Tag } from './tag.entity';
export { NoteTag } from './note-tag.entity';
export { NoteRevision } from './note-revision.entity';
export { NoteDto, NoteListDto } from './note.dto';
export { rebuildSearchIndex, clearSearchIndex, reindexSearch } from './search/rebuild';
export { SearchIndex } from './search/search-index';
