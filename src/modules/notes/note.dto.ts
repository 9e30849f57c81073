import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsString, Matches, ValidateBy, ValidationOptions, buildMessage } from 'class-validator';
import { VISIBILITIES, Visibility } from './note.entity';

/** Length in characters (code points), as a person counts them, not UTF-16 units. */
function CharLength(min: number, max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy({
    name: 'charLength',
    constraints: [min, max],
    validator: {
      validate: (v) => typeof v === 'string' && [...v].length >= min && [...v].length <= max,
      defaultMessage: buildMessage(() => (min > 0 ? `must be ${min} to ${max} characters` : `must be at most ${max} characters`), options),
    },
  }, options);
}

/* eslint-disable no-control-regex -- these patterns exist to refuse control characters */
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;
const NO_CONTROL_EXCEPT_LINES = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/;
/* eslint-enable no-control-regex */

export const TAG_PATTERN = /^[a-z0-9_-]{1,32}$/;
const TAG_RULE = { each: true, message: 'must be 1 to 32 characters of a-z, 0-9, _ and -' };
const TAG_COUNT = { message: 'must be at most 20 tags' };

export class CreateNoteDto {
  @ApiProperty({ minLength: 1, maxLength: 200, description: '1 to 200 characters, no control characters' })
  @IsString() @CharLength(1, 200) @Matches(NO_CONTROL, { message: 'must not contain control characters' })
  title!: string;

  @ApiProperty({ maxLength: 100_000, description: 'Markdown, up to 100,000 characters' })
  @IsString() @CharLength(0, 100_000) @Matches(NO_CONTROL_EXCEPT_LINES, { message: 'must not contain control characters other than tabs and line breaks' })
  body!: string;

  @ApiPropertyOptional({ type: [String], maxItems: 20, example: ['work', 'meeting-notes'], description: 'up to 20 tags matching [a-z0-9_-]{1,32}' })
  @IsOptional() @IsArray({ message: 'must be an array of tags' }) @ArrayMaxSize(20, TAG_COUNT) @IsString(TAG_RULE) @Matches(TAG_PATTERN, TAG_RULE)
  tags?: string[];

  @ApiPropertyOptional({ enum: VISIBILITIES, default: 'private' })
  @IsOptional() @IsIn(VISIBILITIES, { message: 'must be private or public' })
  visibility?: Visibility;
}

export class UpdateNoteDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 200 })
  @IsOptional() @IsString() @CharLength(1, 200) @Matches(NO_CONTROL, { message: 'must not contain control characters' })
  title?: string;

  @ApiPropertyOptional({ maxLength: 100_000 })
  @IsOptional() @IsString() @CharLength(0, 100_000) @Matches(NO_CONTROL_EXCEPT_LINES, { message: 'must not contain control characters other than tabs and line breaks' })
  body?: string;

  @ApiPropertyOptional({ type: [String], maxItems: 20 })
  @IsOptional() @IsArray({ message: 'must be an array of tags' }) @ArrayMaxSize(20, TAG_COUNT) @IsString(TAG_RULE) @Matches(TAG_PATTERN, TAG_RULE)
  tags?: string[];

  @ApiPropertyOptional({ enum: VISIBILITIES })
  @IsOptional() @IsIn(VISIBILITIES, { message: 'must be private or public' })
  visibility?: Visibility;
}

export class NoteDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() title!: string;
  @ApiProperty() body!: string;
  @ApiProperty({ type: [String] }) tags!: string[];
  @ApiProperty({ enum: VISIBILITIES }) visibility!: Visibility;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class NoteListDto {
  @ApiProperty({ type: [NoteDto] }) items!: NoteDto[];
  @ApiProperty({ type: String, nullable: true, description: 'pass as ?cursor= for the next page; null on the last' }) nextCursor!: string | null;
}
