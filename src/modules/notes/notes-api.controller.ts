import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Req, UsePipes } from '@nestjs/common';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import type { Request } from 'express';
import { authOf } from '../auth';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
  ProblemDto,
  ProblemException,
  SignedIn,
} from '../web';
import { LIST_ORDERS, type ListOrder, SEARCH_SORTS, type SearchSort } from './cursor';
import { CreateNoteDto, NoteDto, NoteListDto, UpdateNoteDto } from './note.dto';
import { BadCursor, NotesService, NoteView } from './notes.service';
import { normalizeTag, TAG_PATTERN, TAG_RULE } from './tag';
import { apiValidationPipe } from './validation';

const LIMIT = { message: 'must be a whole number from 1 to 100' };

export class ListNotesQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20, description: 'notes per page' })
  @IsOptional()
  @Type(() => Number)
  @IsInt(LIMIT)
  @Min(1, LIMIT)
  @Max(100, LIMIT)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;

  @ApiPropertyOptional({ maxLength: 500, description: 'search: words, "quoted phrases", -excluded, tag:name' })
  @IsOptional()
  @IsString()
  @MaxLength(500, { message: 'must be at most 500 characters' })
  q?: string;

  @ApiPropertyOptional({
    enum: SEARCH_SORTS,
    default: 'relevance',
    description:
      'order of search results (with q): relevance = notes with every searched word in the title or tags first, then the other matches, each part newest first; newest = all matches newest first',
  })
  @IsOptional()
  @IsIn(SEARCH_SORTS, { message: 'must be relevance or newest' })
  sort?: SearchSort;

  @ApiPropertyOptional({
    enum: LIST_ORDERS,
    default: 'updated',
    description:
      'order of a list (without search words in q): pinned notes first, then the others, each part last updated first (updated) or last created first (created). A nextCursor carries its order: later pages need no order, and one that names another order is refused',
  })
  @IsOptional()
  @IsIn(LIST_ORDERS, { message: 'must be updated or created' })
  order?: ListOrder;

  @ApiPropertyOptional({ maxLength: 32, example: '会議', description: 'only notes with this tag (normalised as tags are stored: NFKC, lower-cased)' })
  @IsOptional()
  @IsString()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? normalizeTag(value) : value))
  @Matches(TAG_PATTERN, { message: TAG_RULE })
  tag?: string;
}

export function toDto(note: NoteView): NoteDto {
  return {
    id: note.id,
    title: note.title,
    body: note.body,
    tags: note.tags,
    visibility: note.visibility,
    pinned: note.pinned,
    createdAt: note.createdAt.toISOString(),
    updatedAt: note.updatedAt.toISOString(),
  };
}

export const badCursor = () => new ProblemException(400, 'Some fields are invalid.', [{ field: 'cursor', message: 'is not a cursor from this list' }]);
const notFound = () => new ProblemException(404, 'There is no such note.');

@ApiTags('notes')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'no or invalid token', type: ProblemDto })
@Controller('api/v1/notes')
@SignedIn()
@UsePipes(apiValidationPipe)
export class NotesApiController {
  constructor(private readonly notes: NotesService) {}

  @Get()
  @ApiOkResponse({
    type: NoteListDto,
    description:
      'own notes, pinned first, then last updated first (or last created first with order=created); with search words in q, the matches by relevance, or newest first with sort=newest',
  })
  @ApiResponse({ status: 400, type: ProblemDto })
  async list(@Req() req: Request, @Query() query: ListNotesQuery): Promise<NoteListDto> {
    try {
      const result = await this.notes.list(authOf(req).user!.id, {
        q: query.q,
        tag: query.tag,
        sort: query.sort,
        order: query.order,
        cursor: query.cursor,
        limit: query.limit ?? 20,
      });
      return { items: result.items.map(toDto), nextCursor: result.nextCursor };
    } catch (error) {
      if (error instanceof BadCursor) throw badCursor();
      throw error;
    }
  }

  @Post()
  @ApiCreatedResponse({ type: NoteDto })
  @ApiResponse({ status: 400, type: ProblemDto })
  @ApiResponse({ status: 413, type: ProblemDto, description: 'body over 1 MiB' })
  async create(@Req() req: Request, @Body() dto: CreateNoteDto): Promise<NoteDto> {
    const note = await this.notes.create(authOf(req).user!.id, {
      title: dto.title,
      body: dto.body,
      tags: dto.tags ?? [],
      visibility: dto.visibility ?? 'private',
    });
    return toDto(note);
  }

  @Get(':id')
  @ApiOkResponse({ type: NoteDto, description: "an own note, or anyone's public note" })
  @ApiResponse({ status: 404, type: ProblemDto })
  async get(@Req() req: Request, @Param('id') id: string): Promise<NoteDto> {
    const note = await this.notes.get(id, authOf(req).user!.id);
    if (!note) throw notFound();
    return toDto(note);
  }

  @Patch(':id')
  @ApiOkResponse({ type: NoteDto, description: 'the fields given change; `pinned` alone changes neither updatedAt nor the content' })
  @ApiResponse({ status: 400, type: ProblemDto })
  @ApiResponse({ status: 404, type: ProblemDto })
  async update(@Req() req: Request, @Param('id') id: string, @Body() dto: UpdateNoteDto): Promise<NoteDto> {
    const note = await this.notes.update(authOf(req).user!.id, id, dto);
    if (!note) throw notFound();
    return toDto(note);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'moved to the trash (restorable for 30 days)' })
  @ApiResponse({ status: 404, type: ProblemDto })
  async remove(@Req() req: Request, @Param('id') id: string): Promise<void> {
    if (!(await this.notes.trash(authOf(req).user!.id, id))) throw notFound();
  }
}
