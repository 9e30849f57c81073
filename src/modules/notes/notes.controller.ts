import { Body, Controller, Get, NotFoundException, Param, Post, Query, Req, Res } from '@nestjs/common';
import { AppConfig } from '@kiroku/config';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type { Request, Response } from 'express';
import { authOf, Cookies } from '../auth';
import { field, Public, render, SignedIn } from '../web';
import { CreateNoteDto, TAG_PATTERN } from './note.dto';
import { NoteInput, NotesService, BadCursor } from './notes.service';
import { fieldProblems } from './validation';

const PAGE_SIZE = 20;

/** The note form's fields, checked by the same rules as the API. */
function readForm(body: unknown): { values: Record<string, string>; input?: NoteInput; errors?: Record<string, string> } {
  const values = { title: field(body, 'title'), body: field(body, 'body'), tags: field(body, 'tags'), visibility: field(body, 'visibility') || 'private' };
  const tags = values.tags.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
  const dto = plainToInstance(CreateNoteDto, { title: values.title.trim(), body: values.body.replace(/\r\n/g, '\n'), tags, visibility: values.visibility });
  const problems = fieldProblems(validateSync(dto, { whitelist: true }));
  if (problems.length) {
    const errors: Record<string, string> = {};
    for (const p of problems) errors[p.field.replace(/\[\d+\]$/, '')] ??= `note.invalid.${p.field.replace(/\[\d+\]$/, '')}`;
    return { values, errors };
  }
  return { values, input: { title: dto.title, body: dto.body, tags: dto.tags ?? [], visibility: dto.visibility ?? 'private' } };
}

@Controller('notes')
export class NotesController {
  constructor(
    private readonly notes: NotesService,
    private readonly cookies: Cookies,
    private readonly app: AppConfig,
  ) {}

  @Get()
  @SignedIn()
  async index(@Req() req: Request, @Res() res: Response, @Query('q') q?: string, @Query('tag') tag?: string, @Query('cursor') cursor?: string) {
    const user = authOf(req).user!;
    const query = typeof q === 'string' ? q.slice(0, 500) : '';
    const tagFilter = typeof tag === 'string' && TAG_PATTERN.test(tag) ? tag : undefined;
    let result;
    try {
      result = await this.notes.list(user.id, { q: query, tag: tagFilter, cursor: typeof cursor === 'string' ? cursor : undefined, limit: PAGE_SIZE, snippets: true });
    } catch (error) {
      if (error instanceof BadCursor) throw new NotFoundException();
      throw error;
    }
    const next = result.nextCursor ? `/notes?${new URLSearchParams({ ...(query ? { q: query } : {}), ...(tagFilter ? { tag: tagFilter } : {}), cursor: result.nextCursor })}` : null;
    render(res, 'notes/index', {
      title: 'notes.title', width: 'wide', notes: result.items, q: query, tag: tagFilter ?? '', next, notice: result.notice,
      tags: await this.notes.tagsOf(user.id), searching: !!query,
    });
  }

  @Get('new')
  @SignedIn()
  newNote(@Res() res: Response) {
    render(res, 'notes/edit', { title: 'notes.new', width: 'medium', values: { visibility: 'private', title: '', body: '', tags: '' }, errors: {} });
  }

  @Post()
  @SignedIn()
  async create(@Req() req: Request, @Res() res: Response, @Body() body: unknown) {
    const form = readForm(body);
    if (!form.input) return render(res, 'notes/edit', { title: 'notes.new', width: 'medium', values: form.values, errors: form.errors }, 400);
    const note = await this.notes.create(authOf(req).user!.id, form.input);
    this.cookies.setFlash(res, 'flash.noteSaved');
    res.redirect(303, `/notes/${note.id}`);
  }

  @Get('trash')
  @SignedIn()
  async trash(@Req() req: Request, @Res() res: Response) {
    render(res, 'notes/trash', { title: 'notes.trash', width: 'medium', notes: await this.notes.listTrash(authOf(req).user!.id) });
  }

  @Post('trash/empty')
  @SignedIn()
  async emptyTrash(@Req() req: Request, @Res() res: Response) {
    await this.notes.emptyTrash(authOf(req).user!.id);
    this.cookies.setFlash(res, 'flash.trashEmptied');
    res.redirect(303, '/notes/trash');
  }

  /** Own notes, and anyone's public note (read-only, no sign-in needed). Private and not yours: 404. */
  @Get(':id')
  @Public()
  async show(@Req() req: Request, @Res() res: Response, @Param('id') id: string) {
    const viewer = authOf(req).user;
    const note = await this.notes.get(id, viewer?.id ?? null);
    if (!note) throw new NotFoundException();
    const owner = note.ownerId === viewer?.id;
    render(res, 'notes/show', {
      title: null, pageTitle: note.title, width: 'medium', note, owner,
      shareUrl: note.visibility === 'public' ? `${this.app.publicUrl.replace(/\/$/, '')}/notes/${note.id}` : null,
    });
  }

  @Get(':id/edit')
  @SignedIn()
  async edit(@Req() req: Request, @Res() res: Response, @Param('id') id: string) {
    const note = await this.notes.own(authOf(req).user!.id, id);
    if (!note) throw new NotFoundException();
    render(res, 'notes/edit', { title: 'notes.edit', width: 'medium', note, values: { ...note, tags: note.tags.join(', ') }, errors: {} });
  }

  @Post(':id')
  @SignedIn()
  async update(@Req() req: Request, @Res() res: Response, @Param('id') id: string, @Body() body: unknown) {
    const userId = authOf(req).user!.id;
    const current = await this.notes.own(userId, id);
    if (!current) throw new NotFoundException();
    const form = readForm(body);
    if (!form.input) return render(res, 'notes/edit', { title: 'notes.edit', width: 'medium', note: current, values: form.values, errors: form.errors }, 400);
    await this.notes.update(userId, id, form.input);
    this.cookies.setFlash(res, 'flash.noteSaved');
    res.redirect(303, `/notes/${id}`);
  }

  @Post(':id/delete')
  @SignedIn()
  async remove(@Req() req: Request, @Res() res: Response, @Param('id') id: string) {
    if (!(await this.notes.trash(authOf(req).user!.id, id))) throw new NotFoundException();
    this.cookies.setFlash(res, 'flash.noteTrashed');
    res.redirect(303, '/notes');
  }

  @Post(':id/restore')
  @SignedIn()
  async restore(@Req() req: Request, @Res() res: Response, @Param('id') id: string) {
    if (!(await this.notes.restore(authOf(req).user!.id, id))) throw new NotFoundException();
    this.cookies.setFlash(res, 'flash.noteRestored');
    res.redirect(303, `/notes/${id}`);
  }
}
