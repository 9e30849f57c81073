import { Controller, Get, NotFoundException, Param, Post, Query, Req } from '@nestjs/common';
import { AppConfig } from '@kiroku/config';
import type { Request } from 'express';
import { authOf, Cookies } from '../auth';
import { Form, FormState, FormView, Page, Pages, Public, RedirectTo, SignedIn } from '../web';
import type { ListOrder, SearchSort } from './cursor';
import { NoteForm } from './note.form';
import { NotesService, BadCursor, NoteView } from './notes.service';
import { tagOrNull } from './tag';

const PAGE_SIZE = 20;

@Controller('notes')
@Pages()
export class NotesController {
  constructor(
    private readonly notes: NotesService,
    private readonly cookies: Cookies,
    private readonly app: AppConfig,
  ) {}

  @Get()
  @SignedIn()
  async index(
    @Req() req: Request,
    @Query('q') q?: string,
    @Query('tag') tag?: string,
    @Query('sort') sort?: string,
    @Query('order') listOrder?: string,
    @Query('cursor') cursor?: string,
  ): Promise<Page> {
    const user = authOf(req).user!;
    const query = typeof q === 'string' ? q.slice(0, 500) : '';
    const tagFilter = tagOrNull(tag) ?? undefined;
    // A page forgives what the API refuses: an unknown order is the default one.
    const order: SearchSort = sort === 'newest' ? 'newest' : 'relevance';
    const arranged: ListOrder = listOrder === 'created' ? 'created' : 'updated';
    let result;
    try {
      result = await this.notes.list(user.id, {
        q: query,
        tag: tagFilter,
        sort: order,
        order: arranged,
        cursor: typeof cursor === 'string' ? cursor : undefined,
        limit: PAGE_SIZE,
        snippets: true,
      });
    } catch (error) {
      if (error instanceof BadCursor) throw new NotFoundException();
      throw error;
    }
    const next = result.nextCursor
      ? `/notes?${new URLSearchParams({
          ...(query ? { q: query } : {}),
          ...(tagFilter ? { tag: tagFilter } : {}),
          ...(query && order !== 'relevance' ? { sort: order } : {}),
          ...(arranged !== 'updated' ? { order: arranged } : {}),
          cursor: result.nextCursor,
        })}`
      : null;
    return new Page('notes/index', {
      title: 'notes.title',
      width: 'wide',
      notes: result.items,
      q: query,
      tag: tagFilter ?? '',
      sort: order,
      order: arranged,
      // The list's order choice, each a link that keeps the tag filter.
      orders: (['updated', 'created'] as const).map((o) => ({
        order: o,
        href: `/notes?${new URLSearchParams({ ...(tagFilter ? { tag: tagFilter } : {}), order: o })}`,
        current: o === arranged,
      })),
      next,
      notice: result.notice,
      tags: await this.notes.tagsOf(user.id),
      searching: !!query,
    });
  }

  @Get('new')
  @SignedIn()
  newNote(): Page {
    return this.newNoteForm({ values: { visibility: 'private', title: '', body: '', tags: '' }, errors: {} });
  }

  @Post()
  @SignedIn()
  @FormView<NotesController>('newNoteForm')
  async create(@Req() req: Request, @Form() form: NoteForm): Promise<RedirectTo> {
    const note = await this.notes.create(authOf(req).user!.id, form);
    return new RedirectTo(`/notes/${note.id}`, { cookies: [this.cookies.setFlash('flash.noteSaved')] });
  }

  /** The form for a new note: empty, or again as sent with what is wrong. */
  newNoteForm({ values, errors }: FormState): Page {
    return new Page('notes/edit', { title: 'notes.new', width: 'medium', values, errors });
  }

  @Get('trash')
  @SignedIn()
  async trash(@Req() req: Request): Promise<Page> {
    return new Page('notes/trash', { title: 'notes.trash', width: 'medium', notes: await this.notes.listTrash(authOf(req).user!.id) });
  }

  @Post('trash/empty')
  @SignedIn()
  async emptyTrash(@Req() req: Request): Promise<RedirectTo> {
    await this.notes.emptyTrash(authOf(req).user!.id);
    return new RedirectTo('/notes/trash', { cookies: [this.cookies.setFlash('flash.trashEmptied')] });
  }

  /** Own notes, and anyone's public note (read-only, no sign-in needed). Private and not yours: 404. */
  @Get(':id')
  @Public()
  async show(@Req() req: Request, @Param('id') id: string): Promise<Page> {
    const viewer = authOf(req).user;
    const note = await this.notes.get(id, viewer?.id ?? null);
    if (!note) throw new NotFoundException();
    const owner = note.ownerId === viewer?.id;
    return new Page('notes/show', {
      title: null,
      pageTitle: note.title,
      width: 'medium',
      note,
      owner,
      shareUrl: note.visibility === 'public' ? `${this.app.publicUrl.replace(/\/$/, '')}/notes/${note.id}` : null,
    });
  }

  @Get(':id/edit')
  @SignedIn()
  async edit(@Req() req: Request, @Param('id') id: string): Promise<Page> {
    const note = await this.own(req, id);
    return this.editPage(note, { values: { title: note.title, body: note.body, tags: note.tags.join(', '), visibility: note.visibility }, errors: {} });
  }

  @Post(':id')
  @SignedIn()
  @FormView<NotesController>('editForm')
  async update(@Req() req: Request, @Param('id') id: string, @Form() form: NoteForm): Promise<RedirectTo> {
    await this.own(req, id);
    await this.notes.update(authOf(req).user!.id, id, form);
    return new RedirectTo(`/notes/${id}`, { cookies: [this.cookies.setFlash('flash.noteSaved')] });
  }

  /** A note's form again, as sent with what is wrong; someone else's note (or none) is a 404 whatever was sent. */
  async editForm(form: FormState, req: Request): Promise<Page> {
    return this.editPage(await this.own(req, req.params.id as string), form);
  }

  @Post(':id/delete')
  @SignedIn()
  async remove(@Req() req: Request, @Param('id') id: string): Promise<RedirectTo> {
    if (!(await this.notes.trash(authOf(req).user!.id, id))) throw new NotFoundException();
    return new RedirectTo('/notes', { cookies: [this.cookies.setFlash('flash.noteTrashed')] });
  }

  @Post(':id/pin')
  @SignedIn()
  async pin(@Req() req: Request, @Param('id') id: string): Promise<RedirectTo> {
    if (!(await this.notes.pin(authOf(req).user!.id, id, true))) throw new NotFoundException();
    return new RedirectTo(`/notes/${id}`, { cookies: [this.cookies.setFlash('flash.notePinned')] });
  }

  @Post(':id/unpin')
  @SignedIn()
  async unpin(@Req() req: Request, @Param('id') id: string): Promise<RedirectTo> {
    if (!(await this.notes.pin(authOf(req).user!.id, id, false))) throw new NotFoundException();
    return new RedirectTo(`/notes/${id}`, { cookies: [this.cookies.setFlash('flash.noteUnpinned')] });
  }

  @Post(':id/restore')
  @SignedIn()
  async restore(@Req() req: Request, @Param('id') id: string): Promise<RedirectTo> {
    if (!(await this.notes.restore(authOf(req).user!.id, id))) throw new NotFoundException();
    return new RedirectTo(`/notes/${id}`, { cookies: [this.cookies.setFlash('flash.noteRestored')] });
  }

  private async own(req: Request, id: string): Promise<NoteView> {
    const note = await this.notes.own(authOf(req).user!.id, id);
    if (!note) throw new NotFoundException();
    return note;
  }

  private editPage(note: NoteView, { values, errors }: FormState): Page {
    return new Page('notes/edit', { title: 'notes.edit', width: 'medium', note, values, errors });
  }
}
