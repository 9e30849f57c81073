import { Transform } from 'class-transformer';
import { IsBoolean, Matches } from 'class-validator';
import { NoteRules } from './note.dto';
import type { Visibility } from './note.entity';
import type { NoteInput } from './notes.service';
import { normalizeTag } from './tag';

/** The note page's form: the API's rules on the fields as the form sends them, one message key per field. */
export class NoteForm implements NoteInput {
  @Transform(({ value }: { value: string }) => value.trim())
  @NoteRules.title('note.invalid.title')
  title!: string;

  @Transform(({ value }: { value: string }) => value.replace(/\r\n/g, '\n'))
  @NoteRules.body('note.invalid.body')
  body!: string;

  /** As typed: "Work, meeting-notes, 会議" (also with the ideographic comma 、 and the full-width ，); stored normalised, as the API does. */
  @Transform(({ value }: { value: string }) =>
    value
      .split(/[,、，]/)
      .map(normalizeTag)
      .filter(Boolean),
  )
  @NoteRules.tags('note.invalid.tags')
  tags!: string[];

  /** Private unless chosen. */
  @Transform(({ value }: { value: string }) => value || 'private')
  @NoteRules.visibility('note.invalid.visibility')
  visibility!: Visibility;

  /** The checkbox "Members can edit": sent as 1 when ticked, absent otherwise. */
  @Transform(({ value }: { value: string }) => value === '1')
  @IsBoolean({ message: 'form.errors' })
  editableByTeam!: boolean;
}

/** The edit form: the note's fields and the version the page was opened at (empty from a page older than versions). */
export class NoteEditForm extends NoteForm {
  @Matches(/^([1-9][0-9]{0,9})?$/, { message: 'note.invalid.version' })
  version!: string;
}
