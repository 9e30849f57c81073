import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { ApiProperty, ApiPropertyOptional, formMessages, ProblemDto, SafeText } from '../web';
import { VISIBILITIES, Visibility } from './note.entity';
import { normalizeTag, TAG_PATTERN, TAG_RULE } from './tag';

export { TAG_PATTERN };

/** The API takes tags as a person would type them and stores them normalised (see normalizeTag), as the page's form does. */
const NormalizedTags = () =>
  Transform(({ value }: { value: unknown }) => (Array.isArray(value) ? value.map((t: unknown) => (typeof t === 'string' ? normalizeTag(t) : t)) : value));

const TAGS_DESCRIPTION =
  'up to 20 tags, each 1 to 32 letters or digits of any script or _ - . after NFKC normalisation; stored NFKC-normalised and lower-cased (`Work` is `work`)';

/** Decorators as if written one above another: TypeScript applies the lowest first, and class-validator checks them in that order. */
function rules(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, key) => {
    for (let i = decorators.length - 1; i >= 0; i--) decorators[i](target, key);
  };
}

/** A note's limits in code points (the page's counters show the same). */
export const NOTE_BODY_MAX = 100_000;

/**
 * Each field's rules, for the API's DTOs and the page's form (note.form.ts)
 * alike. The form gives `message`, its message key for the field, in
 * place of the API's wording (refused characters have the shared form.invalidCharacters).
 */
export const NoteRules = {
  title: (message?: string) => rules(IsString({ message }), SafeText({ min: 1, max: 200 }, { messages: message ? formMessages(message) : undefined })),
  body: (message?: string) =>
    rules(IsString({ message }), SafeText({ max: NOTE_BODY_MAX, multiline: true }, { messages: message ? formMessages(message) : undefined })),
  tags: (message?: string) => {
    const tag = { each: true, message: message ?? TAG_RULE };
    return rules(
      IsOptional(),
      IsArray({ message: message ?? 'must be an array of tags' }),
      ArrayMaxSize(20, { message: message ?? 'must be at most 20 tags' }),
      IsString(tag),
      Matches(TAG_PATTERN, tag),
    );
  },
  visibility: (message?: string) => rules(IsOptional(), IsIn(VISIBILITIES, { message: message ?? 'must be private, team or public' })),
  editableByTeam: () => rules(IsOptional(), IsBoolean({ message: 'must be true or false' })),
};

const VISIBILITY_DESCRIPTION =
  "private: the owner only; team: every signed-in member (enabled accounts), listed with scope=team; public: anyone with the link. Only the note's owner changes it (403 from anyone else)";
const EDITABLE_DESCRIPTION =
  "with visibility team, members may edit the title, body and tags too (each save a new version, with If-Match as the owner's). Only the note's owner changes it (403 from anyone else)";

export class CreateNoteDto {
  @ApiProperty({ minLength: 1, maxLength: 200, description: '1 to 200 characters, no control characters (see Refused text)' })
  @NoteRules.title()
  title!: string;

  @ApiProperty({ maxLength: 100_000, description: 'Markdown, up to 100,000 characters; no control characters but tabs and line breaks' })
  @NoteRules.body()
  body!: string;

  @ApiPropertyOptional({ type: [String], maxItems: 20, example: ['work', 'meeting-notes', '会議', 'node.js'], description: TAGS_DESCRIPTION })
  @NormalizedTags()
  @NoteRules.tags()
  tags?: string[];

  @ApiPropertyOptional({ enum: VISIBILITIES, default: 'private', description: VISIBILITY_DESCRIPTION })
  @NoteRules.visibility()
  visibility?: Visibility;

  @ApiPropertyOptional({ default: false, description: EDITABLE_DESCRIPTION })
  @NoteRules.editableByTeam()
  editableByTeam?: boolean;
}

export class UpdateNoteDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 200 })
  @IsOptional()
  @NoteRules.title()
  title?: string;

  @ApiPropertyOptional({ maxLength: 100_000 })
  @IsOptional()
  @NoteRules.body()
  body?: string;

  @ApiPropertyOptional({ type: [String], maxItems: 20, description: TAGS_DESCRIPTION })
  @NormalizedTags()
  @NoteRules.tags()
  tags?: string[];

  @ApiPropertyOptional({ enum: VISIBILITIES, description: VISIBILITY_DESCRIPTION })
  @NoteRules.visibility()
  visibility?: Visibility;

  @ApiPropertyOptional({ description: EDITABLE_DESCRIPTION })
  @NoteRules.editableByTeam()
  editableByTeam?: boolean;

  @ApiPropertyOptional({
    description: "pinned notes come first in the list; pinning alone changes neither updatedAt nor the content. The owner's arrangement: 403 from anyone else",
  })
  @IsOptional()
  @IsBoolean({ message: 'must be true or false' })
  pinned?: boolean;
}

export class NoteDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() title!: string;
  @ApiProperty() body!: string;
  @ApiProperty({ type: [String] }) tags!: string[];
  @ApiProperty({ enum: VISIBILITIES, description: 'private: the owner only; team: every signed-in member; public: anyone with the link' })
  visibility!: Visibility;
  @ApiProperty({ description: 'with visibility team: members may edit it too' }) editableByTeam!: boolean;
  @ApiProperty({ format: 'uuid', description: "the note's owner (its author): the caller, or another member for a team or public note" }) ownerId!: string;
  @ApiProperty({ type: String, nullable: true, description: "the owner's display name; null when unknown" }) ownerName!: string | null;
  @ApiProperty({ description: "shown first in the owner's list" }) pinned!: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ minimum: 1, description: 'raised by every write; also the ETag ("v<version>") that If-Match takes' }) version!: number;
}

export class NoteListDto {
  @ApiProperty({ type: [NoteDto] }) items!: NoteDto[];
  @ApiProperty({ type: String, nullable: true, description: 'pass as ?cursor= for the next page; null on the last' }) nextCursor!: string | null;
}

export class RevisionSummaryDto {
  @ApiProperty({ minimum: 1, description: "the note's version this was" }) version!: number;
  @ApiProperty({ description: "true for the note's current version (first on the first page)" }) current!: boolean;
  @ApiProperty() title!: string;
  @ApiProperty({ type: [String] }) tags!: string[];
  @ApiProperty({ enum: VISIBILITIES, description: 'who could read this version: private, team or public' }) visibility!: Visibility;
  @ApiProperty({ description: 'whether members could edit this version (with visibility team)' }) editableByTeam!: boolean;
  @ApiProperty({ type: String, nullable: true, format: 'uuid', description: 'who wrote this version (the owner or a member); null when unknown' }) authorId!:
    string | null;
  @ApiProperty({ type: String, nullable: true, description: "the author's display name; null when unknown (an account deleted since)" }) authorName!:
    string | null;
  @ApiProperty({ format: 'date-time', description: 'when this version was written' }) savedAt!: string;
}

export class RevisionDto extends RevisionSummaryDto {
  @ApiProperty() body!: string;
}

export class RevisionListDto {
  @ApiProperty({ type: [RevisionSummaryDto] }) items!: RevisionSummaryDto[];
  @ApiProperty({ type: String, nullable: true, description: 'pass as ?cursor= for the next page; null on the last' }) nextCursor!: string | null;
}

export class StaleNoteProblemDto extends ProblemDto {
  @ApiProperty({ example: 8, description: "the note's current version (its ETag is also in the ETag header)" }) currentVersion!: number;
}
