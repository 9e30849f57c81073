import { Body, Controller, Get, Header, HttpCode, NotFoundException, Param, PayloadTooLargeException, Post, Query, Req } from '@nestjs/common';
import { AppConfig } from '@kiroku/config';
import type { Request } from 'express';
import { authOf, Cookies } from '../auth';
import {
  confirmationPage,
  confirmed,
  Form,
  FormRefusal,
  FormRescues,
  FormState,
  FormView,
  formValues,
  Page,
  Pages,
  Public,
  RedirectTo,
  SignedIn,
  renderMarkdown,
  toggleTask,
} from '../web';
import { isId } from './note-id';
import type { ListOrder, SearchSort } from './cursor';
import { NOTE_BODY_MAX } from './note.dto';
import { NoteEditForm, NoteForm } from './note.form';
import { diffNotes } from './revision-diff';
import { NotesService, BadCursor, NoteView, StaleNote, type NoteInput } from './notes.service';
import { tagOrNull } from './tag';

const PAGE_SIZE = 20;
/** Titles a confirmation page names before it says how many more. */
const CONFIRM_ITEMS = 10;

/** A save that started from an older version: the note as it is now, and what the save would change in it. */
interface Conflict {
  current: NoteView;
  diff: ReturnType<typeof diffNotes>;
}

@Controller('notes')
@Pages()
export class NotesController {
  constructor(
    private readonly notes: NotesService,
    private readonly cookies: Cookies,
    private readonly app: AppConfig,
    rescues: FormRescues,
  ) {
    // The note forms (new and edit) come back with what was sent when refused before routing: a stale token, an
    // ended session, a body too large to read.
    rescues.register({ method: 'POST', path: /^\/notes(?:\/[0-9a-f-]{36})?$/, page: (refusal, req) => this.refusedForm(refusal, req) });
  }

  @Get()
  @SignedIn()
  @FormView<NotesController>('searchRefused')
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

  /** A search the text rule refused (a control character in q): the list, what was typed made printable, and a notice (400). */
  async searchRefused(form: FormState, req: Request): Promise<Page> {
    const page = await this.index(req);
    return new Page(page.view, { ...page.data, q: form.values.q ?? '', notice: 'notes.searchRefused' }, { status: 400 });
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
  newNoteForm({ values, errors }: FormState, _req?: Request, refusal?: FormRefusal): Page {
    return new Page('notes/edit', {
      title: 'notes.new',
      width: 'wide', // room for the preview beside the text
      values,
      errors,
      counts: counts(values),
      refusal,
      draftKey: 'new',
      tokenFrom: '/notes/new',
    });
  }

  @Get('trash')
  @SignedIn()
  async trash(@Req() req: Request): Promise<Page> {
    return new Page('notes/trash', { title: 'notes.trash', width: 'medium', notes: await this.notes.listTrash(authOf(req).user!.id) });
  }

  /** Emptying the trash, second step: the notes that will be lost, by title, and the form that does it. */
  @Get('trash/empty')
  @SignedIn()
  async confirmEmptyTrash(@Req() req: Request): Promise<Page | RedirectTo> {
    const trashed = await this.notes.listTrash(authOf(req).user!.id);
    if (trashed.length === 0) return new RedirectTo('/notes/trash');
    return confirmationPage({
      title: 'confirm.emptyTrash.title',
      question: 'confirm.emptyTrash.question',
      args: [trashed.length],
      items: trashed.slice(0, CONFIRM_ITEMS).map((n) => n.title),
      more: Math.max(0, trashed.length - CONFIRM_ITEMS),
      consequence: 'confirm.forever',
      submit: 'notes.emptyTrash',
      action: '/notes/trash/empty',
      cancel: '/notes/trash',
    });
  }

  /** Empties the trash when confirmed (confirm=yes); otherwise the confirmation page (Post/Redirect/Get). */
  @Post('trash/empty')
  @SignedIn()
  async emptyTrash(@Req() req: Request, @Body() body: unknown): Promise<RedirectTo> {
    if (!confirmed(body)) return new RedirectTo('/notes/trash/empty');
    await this.notes.emptyTrash(authOf(req).user!.id);
    return new RedirectTo('/notes/trash', { cookies: [this.cookies.setFlash('flash.trashEmptied')] });
  }

  /** A note in the trash, read-only: what it holds before it is restored or deleted for good. Others' notes: 404. */
  @Get('trash/:id')
  @SignedIn()
  async trashed(@Req() req: Request, @Param('id') id: string): Promise<Page> {
    const note = await this.ownTrashed(req, id);
    return new Page('notes/trashed', { title: null, pageTitle: note.title, width: 'medium', note });
  }

  /** Deleting one trashed note for good, second step. */
  @Get('trash/:id/delete')
  @SignedIn()
  async confirmDeleteForever(@Req() req: Request, @Param('id') id: string): Promise<Page> {
    const note = await this.ownTrashed(req, id);
    return confirmationPage({
      title: 'confirm.deleteForever.title',
      question: 'confirm.deleteForever.question',
      items: [note.title],
      consequence: 'confirm.forever',
      submit: 'notes.deleteForever',
      action: `/notes/trash/${note.id}/delete`,
      cancel: `/notes/trash/${note.id}`,
    });
  }

  @Post('trash/:id/delete')
  @SignedIn()
  async deleteForever(@Req() req: Request, @Param('id') id: string, @Body() body: unknown): Promise<RedirectTo> {
    const note = await this.ownTrashed(req, id);
    if (!confirmed(body)) return new RedirectTo(`/notes/trash/${note.id}/delete`);
    if (!(await this.notes.deleteForever(authOf(req).user!.id, note.id))) throw new NotFoundException();
    return new RedirectTo('/notes/trash', { cookies: [this.cookies.setFlash('flash.noteDeletedForever')] });
  }

  /**
   * The editor's live preview: the body as the note page will show it, through the same renderer and sanitiser
   * (an HTML fragment, fetched by note-form.js with the session's CSRF token). Over the body's limit it renders
   * nothing: the form says what is too long, and a save would be refused anyway.
   */
  @Post('preview')
  @SignedIn()
  @HttpCode(200)
  @Header('Content-Type', 'text/html; charset=utf-8')
  preview(@Body('body') body?: unknown): string {
    const source = typeof body === 'string' ? body : '';
    if (source.length > NOTE_BODY_MAX * 2 || [...source].length > NOTE_BODY_MAX) throw new PayloadTooLargeException();
    return renderMarkdown(source);
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
    return this.editPage(id, { values: storedValues(note), errors: {} }, undefined, note);
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
    const conflict = { current, diff: diffNotes(current, { ...mine, tags: [...new Set(mine.tags)].sort() }) };
    return this.editPage(current.id, { values, errors: {} }, undefined, current, conflict).with({ status: 409 });
  }

  /**
   * Ticks or unticks the n-th task (0-based, as the page counts them) of the note at the version the page showed:
   * a versioned edit, so a note changed since leaves the text as it is and says so.
   */
  @Post(':id/tasks/:n')
  @SignedIn()
  async toggleTask(@Req() req: Request, @Param('id') id: string, @Param('n') n: string, @Body('version') version?: string): Promise<RedirectTo> {
    const user = authOf(req).user!;
    const note = await this.own(req, id);
    const expected = typeof version === 'string' && /^[1-9][0-9]{0,9}$/.test(version) ? Number(version) : NaN;
    const stale = new RedirectTo(`/notes/${id}`, { cookies: [this.cookies.setFlash('flash.taskStale')] });
    if (expected !== note.version) return stale;
    const body = /^(0|[1-9][0-9]{0,5})$/.test(n) ? toggleTask(note.body, Number(n)) : null;
    if (body === null) throw new NotFoundException();
    try {
      await this.notes.update(user.id, id, { body }, { authorId: user.id, expected: [expected] });
    } catch (error) {
      if (error instanceof StaleNote) return stale;
      throw error;
    }
    return new RedirectTo(`/notes/${id}#task-${n}`);
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
    const note = await this.own(req, req.params.id as string);
    return this.editPage(note.id, form, undefined, note);
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

  private async ownTrashed(req: Request, id: string): Promise<NoteView> {
    const note = await this.notes.own(authOf(req).user!.id, id, true);
    if (!note) throw new NotFoundException();
    return note;
  }

  private async own(req: Request, id: string): Promise<NoteView> {
    const note = await this.notes.own(authOf(req).user!.id, id);
    if (!note) throw new NotFoundException();
    return note;
  }

  /** A note's form; `note` is the stored note, when the reader may see it. */
  private editPage(id: string, { values, errors }: FormState, refusal?: FormRefusal, note?: NoteView, conflict?: Conflict): Page {
    return new Page('notes/edit', {
      title: 'notes.edit',
      width: 'wide',
      note,
      conflict,
      action: `/notes/${id}`,
      values,
      errors,
      counts: counts(values),
      refusal,
      draftKey: id,
      tokenFrom: `/notes/${id}/edit`,
    });
  }

  /**
   * A note form refused before its route ran. Signed in (a stale token): the form as sent, for one's own note only.
   * Signed out: what was sent and nothing stored, with a way to sign in again. Too large to read: the form as it
   * was opened, naming the limits; the browser's draft holds the text.
   */
  private async refusedForm(refusal: FormRefusal, req: Request): Promise<Page | null> {
    const id = req.path.split('/')[2];
    if (id !== undefined && !isId(id)) return null;
    const signedIn = !!authOf(req).user;
    if (refusal === 'tooLarge' && !signedIn) return null;
    const sent = refusal === 'tooLarge' ? null : formValues(id ? NoteEditForm : NoteForm, req.body);
    if (!signedIn) {
      const form = { values: sent!, errors: {} };
      return id ? this.editPage(id, form, refusal) : this.newNoteForm(form, req, refusal);
    }
    if (!id) return this.newNoteForm({ values: sent ?? { title: '', body: '', tags: '', visibility: 'private' }, errors: {} }, req, refusal);
    const note = await this.own(req, id);
    return this.editPage(id, { values: sent ?? storedValues(note), errors: {} }, refusal, note);
  }
}

/** The title's and the text's lengths as the rules count them (code points, after the form's own trimming), for the counters. */
function counts(values: Record<string, string>): { title: number; body: number } {
  return { title: [...(values.title ?? '').trim()].length, body: [...(values.body ?? '').replace(/\r\n/g, '\n')].length };
}

/** A stored note as its form shows it. */
function storedValues(note: NoteView): Record<string, string> {
  return { title: note.title, body: note.body, tags: note.tags.join(', '), visibility: note.visibility, version: String(note.version) };
}
