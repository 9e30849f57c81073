import { Controller, Get, NotFoundException, Param, Post, Query, Req } from '@nestjs/common';
import { AppConfig } from '@kiroku/config';
import type { Request } from 'express';
import { authOf, Cookies } from '../auth';
import { Form, FormState, FormView, Page, Pages, Public, RedirectTo, SignedIn } from '../web';
import { TAG_PATTERN } from './note.dto';
import type { SearchSort } from './cursor';
import { NoteEditForm, NoteForm } from './note.form';
import { diffNotes } from './revision-diff';
import { NotesService, BadCursor, NoteView, StaleNote, type NoteInput } from './notes.service';

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
    @Query('cursor') cursor?: string,
  ): Promise<Page> {
    const user = authOf(req).user!;
    const query = typeof q === 'string' ? q.slice(0, 500) : '';
    const tagFilter = typeof tag === 'string' && TAG_PATTERN.test(tag) ? tag : undefined;
    // A page forgives what the API refuses: an unknown order is the default one.
    const order: SearchSort = sort === 'newest' ? 'newest' : 'relevance';
    let result;
    try {
      result = await this.notes.list(user.id, {
        q: query,
        tag: tagFilter,
        sort: order,
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
    return this.editPage(note, {
      values: { title: note.title, body: note.body, tags: note.tags.join(', '), visibility: note.visibility, version: String(note.version) },
      errors: {},
    });
  }

  /**
   * Saves the form if the note is still at the version the form was opened at. Otherwise nothing is written
   * and the form comes back (409) with the person's text, the note's current text and what tells them apart;
   * saving that form again saves their text over the current version, which is kept in the history.
   */
  @Post(':id')
  @SignedIn()
  @FormView<NotesController>('editForm')
  async update(@Req() req: Request, @Param('id') id: string, @Form() form: NoteEditForm): Promise<RedirectTo | Page> {
    const user = authOf(req).user!;
    const { version, ...input } = form;
    try {
      const note = await this.notes.update(user.id, id, input, { authorId: user.id, expected: version ? [Number(version)] : null });
      if (!note) throw new NotFoundException();
    } catch (error) {
      if (error instanceof StaleNote) return this.conflictPage(error.current, input);
      throw error;
    }
    return new RedirectTo(`/notes/${id}`, { cookies: [this.cookies.setFlash('flash.noteSaved')] });
  }

  /** The edit form again with the person's text, against the note as it is now. */
  private conflictPage(current: NoteView, mine: NoteInput): Page {
    const values = { title: mine.title, body: mine.body, tags: mine.tags.join(', '), visibility: mine.visibility, version: String(current.version) };
    return this.editPage(current, { values, errors: {} }, { current, diff: diffNotes(current, { ...mine, tags: [...new Set(mine.tags)].sort() }) }).with({
      status: 409,
    });
  }

  /** A note's versions, newest first: the current one, then those kept. */
  @Get(':id/history')
  @SignedIn()
  async history(@Req() req: Request, @Param('id') id: string, @Query('before') before?: string): Promise<Page> {
    const note = await this.own(req, id);
    const from = typeof before === 'string' && /^[1-9][0-9]{0,9}$/.test(before) ? Number(before) : undefined;
    const page = (await this.notes.history(authOf(req).user!.id, id, { before: from, limit: PAGE_SIZE }))!;
    return new Page('notes/history', {
      title: 'history.title',
      width: 'medium',
      note,
      versions: page.items,
      viewerId: authOf(req).user!.id,
      next: page.nextBefore === null ? null : `/notes/${id}/history?before=${page.nextBefore}`,
    });
  }

  /** One version: its text, and what the next version changed. */
  @Get(':id/history/:version')
  @SignedIn()
  async version(@Req() req: Request, @Param('id') id: string, @Param('version') version: string): Promise<Page> {
    const found = /^[1-9][0-9]{0,9}$/.test(version) ? await this.notes.revision(authOf(req).user!.id, id, Number(version)) : null;
    if (!found) throw new NotFoundException();
    return new Page('notes/version', {
      title: 'history.version',
      width: 'medium',
      note: found.note,
      revision: found.revision,
      next: found.next,
      diff: found.next ? diffNotes(found.revision, found.next) : null,
      viewerId: authOf(req).user!.id,
    });
  }

  @Post(':id/history/:version/restore')
  @SignedIn()
  async restoreVersion(@Req() req: Request, @Param('id') id: string, @Param('version') version: string): Promise<RedirectTo> {
    const user = authOf(req).user!;
    const number = /^[1-9][0-9]{0,9}$/.test(version) ? Number(version) : NaN;
    const note = await this.notes.restoreRevision(user.id, id, number, { authorId: user.id });
    if (!note) throw new NotFoundException();
    return new RedirectTo(`/notes/${id}`, { cookies: [this.cookies.setFlash('flash.versionRestored')] });
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

  private editPage(note: NoteView, { values, errors }: FormState, conflict?: { current: NoteView; diff: ReturnType<typeof diffNotes> }): Page {
    return new Page('notes/edit', { title: 'notes.edit', width: 'medium', note, values, errors, conflict });
  }
}
