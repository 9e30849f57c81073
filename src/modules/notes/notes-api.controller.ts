import { applyDecorators, Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Req, Res, UsePipes } from '@nestjs/common';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import type { Request, Response } from 'express';
import { Accounts, authOf } from '../auth';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
  ProblemDto,
  ProblemException,
  SafeText,
  SignedIn,
} from '../web';
import { LIST_ORDERS, type ListOrder, SEARCH_SORTS, type SearchSort } from './cursor';
import { etagOf, ifMatchVersions } from './etag';
import { CreateNoteDto, NoteDto, NoteListDto, RevisionDto, RevisionListDto, RevisionSummaryDto, StaleNoteProblemDto, UpdateNoteDto } from './note.dto';
import { BadCursor, NoteForbidden, NotesService, NoteView, RevisionView, StaleNote, type ExpectedVersions } from './notes.service';
import { SCOPES, type Scope } from './search/search-index';
import { normalizeTag, TAG_PATTERN, TAG_RULE } from './tag';
import { apiValidationPipe } from './validation';

const LIMIT = { message: 'must be a whole number from 1 to 100' };

/** `limit` of a paged list: 1 to 100 items, 20 unless given. */
function PageLimit(items: string): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20, description: `${items} per page` }),
    IsOptional(),
    Type(() => Number),
    IsInt(LIMIT),
    Min(1, LIMIT),
    Max(100, LIMIT),
  );
}

export class ListNotesQuery {
  @PageLimit('notes')
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @SafeText({ max: 200 })
  cursor?: string;

  @ApiPropertyOptional({
    maxLength: 500,
    description:
      'search: words, "quoted phrases", -excluded, tag:name, a OR b; the last word, unquoted, also matches longer words it begins; no control characters',
  })
  @IsOptional()
  @IsString()
  @SafeText({ max: 500 })
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

  @ApiPropertyOptional({
    enum: SCOPES,
    default: 'mine',
    description:
      "whose notes, in the list and in search alike: mine = the caller's own (any visibility); team = every team note (the caller's and other members'); all = both",
  })
  @IsOptional()
  @IsIn(SCOPES, { message: 'must be mine, team or all' })
  scope?: Scope;

  @ApiPropertyOptional({ maxLength: 32, example: '会議', description: 'only notes with this tag (normalised as tags are stored: NFKC, lower-cased)' })
  @IsOptional()
  @IsString()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? normalizeTag(value) : value))
  @Matches(TAG_PATTERN, { message: TAG_RULE })
  tag?: string;
}

export function toDto(note: NoteView, names: Map<string, string> = new Map()): NoteDto {
  return {
    id: note.id,
    title: note.title,
    body: note.body,
    tags: note.tags,
    visibility: note.visibility,
    editableByTeam: note.editableByTeam,
    ownerId: note.ownerId,
    ownerName: names.get(note.ownerId) ?? null,
    pinned: note.pinned,
    createdAt: note.createdAt.toISOString(),
    updatedAt: note.updatedAt.toISOString(),
    version: note.version,
  };
}

function toRevisionSummary(revision: RevisionView & { current: boolean }, names: Map<string, string>): RevisionSummaryDto {
  return {
    version: revision.version,
    current: revision.current,
    title: revision.title,
    tags: revision.tags,
    visibility: revision.visibility,
    editableByTeam: revision.editableByTeam,
    authorId: revision.authorId,
    authorName: (revision.authorId && names.get(revision.authorId)) ?? null,
    savedAt: revision.savedAt.toISOString(),
  };
}

export class ListRevisionsQuery {
  @PageLimit('versions')
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @Matches(/^[1-9][0-9]{0,9}$/, { message: 'is not a cursor from this list' })
  cursor?: string;
}

/** The versions a write may apply to, from its If-Match header (see etag.ts); a malformed header is a 400. */
function expectedVersions(ifMatch: string | undefined): ExpectedVersions {
  const expected = ifMatchVersions(ifMatch);
  if (expected === 'malformed')
    throw new ProblemException(400, 'The If-Match header is not an entity tag.', [
      { field: 'If-Match', message: 'must be the ETag of a version of the note, such as "v3", or *' },
    ]);
  return expected;
}

/** The 412 of a write that started from another version than the note's current one. */
function stale(error: StaleNote): ProblemException {
  const current = error.current.version;
  return new ProblemException(
    412,
    `The note has changed: it is at version ${current} now. Read it again (its ETag is ${etagOf(current)}) and send your change with that If-Match.`,
    [],
    {
      members: { currentVersion: current },
      headers: { ETag: etagOf(current) },
    },
  );
}

/** The 403 of a change only the note's owner (or, for the note as a whole, an editor) may make: naming the field when there is one. */
function forbidden(error: NoteForbidden): ProblemException {
  return error.field
    ? new ProblemException(403, `Only the note's owner changes ${error.field}.`, [{ field: error.field, message: "only the note's owner changes it" }])
    : new ProblemException(403, 'You may read this note but not change it: only its owner, or members when the owner lets the team edit it, change it.');
}

/** Runs a write; a StaleNote becomes the 412, a NoteForbidden the 403. */
async function unlessStale<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof StaleNote) throw stale(error);
    if (error instanceof NoteForbidden) throw forbidden(error);
    throw error;
  }
}

const IF_MATCH = {
  name: 'If-Match',
  required: false,
  description:
    'the ETag of the version this change starts from ("v3"): if the note has changed since, nothing is written and the answer is 412. Without it the change applies to whatever version is current.',
};

export const badCursor = () => new ProblemException(400, 'Some fields are invalid.', [{ field: 'cursor', message: 'is not a cursor from this list' }]);
const notFound = () => new ProblemException(404, 'There is no such note.');

@ApiTags('notes')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'no or invalid token', type: ProblemDto })
@ApiResponse({
  status: 400,
  description: 'a field or a query or path parameter breaks its rule (control characters: see the text rule in docs/security.md)',
  type: ProblemDto,
})
@Controller('api/v1/notes')
@SignedIn()
@UsePipes(apiValidationPipe)
export class NotesApiController {
  constructor(
    private readonly notes: NotesService,
    private readonly accounts: Accounts,
  ) {}

  /** The DTOs of notes, each with its owner's name (the caller's is known; others' are read, one statement for the page). */
  private async dtos(req: Request, notes: NoteView[]): Promise<NoteDto[]> {
    const me = authOf(req).user!;
    const others = notes.filter((n) => n.ownerId !== me.id).map((n) => n.ownerId);
    const names = others.length ? await this.accounts.displayNames(others) : new Map<string, string>();
    names.set(me.id, me.displayName);
    return notes.map((n) => toDto(n, names));
  }

  /** The note's DTO with its owner's name, its version's ETag set on the response. */
  private async tagged(req: Request, res: Response, note: NoteView): Promise<NoteDto> {
    res.setHeader('ETag', etagOf(note.version));
    return (await this.dtos(req, [note]))[0];
  }

  @Get()
  @ApiOkResponse({
    type: NoteListDto,
    description:
      "own notes (or with scope, the team's notes, or both), the caller's pinned ones first, then last updated first (or last created first with order=created); with search words in q, the matches by relevance, or newest first with sort=newest",
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
        scope: query.scope,
      });
      return { items: await this.dtos(req, result.items), nextCursor: result.nextCursor };
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
      editableByTeam: dto.editableByTeam ?? false,
    });
    return (await this.dtos(req, [note]))[0];
  }

  @Get(':id')
  @ApiOkResponse({ type: NoteDto, description: "an own note, any member's team note, or anyone's public note; its version's ETag in the ETag header" })
  @ApiResponse({ status: 404, type: ProblemDto, description: "no such note, or someone else's private note" })
  async get(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Param('id') id: string): Promise<NoteDto> {
    const note = await this.notes.get(id, authOf(req).user!.id);
    if (!note) throw notFound();
    return this.tagged(req, res, note);
  }

  @Patch(':id')
  @ApiHeader(IF_MATCH)
  @ApiOkResponse({
    type: NoteDto,
    description: 'the note as written (a new version), or as it was when the change changes nothing; `pinned` alone changes neither updatedAt nor the version',
  })
  @ApiResponse({ status: 400, type: ProblemDto })
  @ApiResponse({
    status: 403,
    type: ProblemDto,
    description:
      'a team note the caller may read but not edit, or a field only the owner changes (visibility, editableByTeam, pinned; named in errors): nothing was written',
  })
  @ApiResponse({ status: 404, type: ProblemDto })
  @ApiResponse({ status: 412, type: StaleNoteProblemDto, description: 'the note is no longer at the If-Match version: nothing was written' })
  async update(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('id') id: string,
    @Headers('if-match') ifMatch: string | undefined,
    @Body() dto: UpdateNoteDto,
  ): Promise<NoteDto> {
    const user = authOf(req).user!;
    const expected = expectedVersions(ifMatch);
    const note = await unlessStale(() => this.notes.update(user.id, id, dto, { expected }));
    if (!note) throw notFound();
    return this.tagged(req, res, note);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiHeader(IF_MATCH)
  @ApiNoContentResponse({ description: 'moved to the trash (restorable for 30 days)' })
  @ApiResponse({ status: 400, type: ProblemDto })
  @ApiResponse({ status: 403, type: ProblemDto, description: "someone else's team or public note: only its owner deletes it" })
  @ApiResponse({ status: 404, type: ProblemDto })
  @ApiResponse({ status: 412, type: StaleNoteProblemDto, description: 'the note is no longer at the If-Match version: it stays where it is' })
  async remove(@Req() req: Request, @Param('id') id: string, @Headers('if-match') ifMatch: string | undefined): Promise<void> {
    const expected = expectedVersions(ifMatch);
    if (!(await unlessStale(() => this.notes.trash(authOf(req).user!.id, id, expected)))) throw notFound();
  }

  @Get(':id/revisions')
  @ApiOkResponse({
    type: RevisionListDto,
    description:
      'the versions of a note the caller may edit (their own, or a team note the team may edit), newest first: the current one, then those kept (NOTE_REVISIONS_KEEP); each with who wrote it',
  })
  @ApiResponse({ status: 400, type: ProblemDto })
  @ApiResponse({ status: 403, type: ProblemDto, description: 'a team note the caller may read but not edit' })
  @ApiResponse({ status: 404, type: ProblemDto })
  async revisions(@Req() req: Request, @Param('id') id: string, @Query() query: ListRevisionsQuery): Promise<RevisionListDto> {
    const page = await unlessStale(() =>
      this.notes.history(authOf(req).user!.id, id, { before: query.cursor ? Number(query.cursor) : undefined, limit: query.limit ?? 20 }),
    );
    if (!page) throw notFound();
    const names = await this.accounts.displayNames(page.items.map((r) => r.authorId));
    return { items: page.items.map((r) => toRevisionSummary(r, names)), nextCursor: page.nextBefore === null ? null : String(page.nextBefore) };
  }

  @Get(':id/revisions/:version')
  @ApiOkResponse({ type: RevisionDto, description: 'one version of a note the caller may edit, with its body' })
  @ApiResponse({ status: 403, type: ProblemDto, description: 'a team note the caller may read but not edit' })
  @ApiResponse({ status: 404, type: ProblemDto })
  async revision(@Req() req: Request, @Param('id') id: string, @Param('version') version: string): Promise<RevisionDto> {
    const found = await unlessStale(() => this.notes.revision(authOf(req).user!.id, id, versionNumber(version)));
    if (!found) throw noRevision();
    const names = await this.accounts.displayNames([found.revision.authorId]);
    return { ...toRevisionSummary({ ...found.revision, current: found.next === null }, names), body: found.revision.body };
  }

  @Post(':id/revisions/:version/restore')
  @HttpCode(200)
  @ApiHeader(IF_MATCH)
  @ApiOkResponse({
    type: NoteDto,
    description:
      "the note with that version's title, body and tags (and, restored by its owner, its visibility and editableByTeam): a new version (the one it replaces is kept)",
  })
  @ApiResponse({ status: 400, type: ProblemDto })
  @ApiResponse({ status: 403, type: ProblemDto, description: 'a team note the caller may read but not edit' })
  @ApiResponse({ status: 404, type: ProblemDto })
  @ApiResponse({ status: 412, type: StaleNoteProblemDto })
  async restoreRevision(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('id') id: string,
    @Param('version') version: string,
    @Headers('if-match') ifMatch: string | undefined,
  ): Promise<NoteDto> {
    const user = authOf(req).user!;
    const expected = expectedVersions(ifMatch);
    const note = await unlessStale(() => this.notes.restoreRevision(user.id, id, versionNumber(version), { expected }));
    if (!note) throw noRevision();
    return this.tagged(req, res, note);
  }
}

/** A version as the path gives it; anything else finds nothing. */
const versionNumber = (text: string): number => (/^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : NaN);
const noRevision = () => new ProblemException(404, 'There is no such note, or no such version of it (older versions are kept up to NOTE_REVISIONS_KEEP).');
