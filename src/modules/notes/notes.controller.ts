import {
  Body,
  Controller,
  ForbiddenException,
  Get,
  Header,
  HttpCode,
  NotFoundException,
  Param,
  PayloadTooLargeException,
  Post,
  Query,
  Req,
} from '@nestjs/common';
import { AppConfig } from '@kiroku/config';
import type { Request } from 'express';
import { Accounts, authOf, Cookies } from '../auth';
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
import { NotesService, BadCursor, mayEdit, NoteForbidden, NoteView, StaleNote, type NoteInput, type Scope } from './notes.service';
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
    private readonly accounts: Accounts,
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
    @Query('scope') scopeParam?: string,
  ): Promise<Page> {
    const user = authOf(req).user!;
    // Whose notes: one's own (the default), the team's, or both; anything else is one's own.
    const scope: Scope = scopeParam === 'team' || scopeParam === 'all' ? scopeParam : 'mine';
    const scoped: Record<string, string> = scope !== 'mine' ? { scope } : {};
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
        scope,
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
          ...scoped,
          cursor: result.nextCursor,
        })}`
      : null;
    // Each a link that keeps the search, the tag and the order.
    const scopes = (['mine', 'team', 'all'] as const).map((s) => ({
      scope: s,
      href: `/notes?${new URLSearchParams({
        ...(query ? { q: query } : {}),
        ...(tagFilter ? { tag: tagFilter } : {}),
        ...(query && order !== 'relevance' ? { sort: order } : {}),
        ...(arranged !== 'updated' ? { order: arranged } : {}),
        ...(s !== 'mine' ? { scope: s } : {}),
      })}`.replace(/\?$/, ''),
      current: s === scope,
    }));
    const names = await this.accounts.displayNames(result.items.filter((n) => n.ownerId !== user.id).map((n) => n.ownerId));
    return new Page('notes/index', {
      title: 'notes.title',
      width: 'wide',
      notes: result.items.map((n) => ({ ...n, author: n.ownerId === user.id ? null : (names.get(n.ownerId) ?? '') })),
      q: query,
      scope,
      scopes,
      tag: tagFilter ?? '',
      sort: order,
      order: arranged,
      // The list's order choice, each a link that keeps the tag filter.
      orders: (['updated', 'created'] as const).map((o) => ({
        order: o,
        href: `/notes?${new URLSearchParams({ ...(tagFilter ? { tag: tagFilter } : {}), order: o, ...scoped })}`,
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
    return this.newNoteForm({ values: { visibility: 'private', editableByTeam: '', title: '', body: '', tags: '' }, errors: {} });
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
      owner: true,
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

  /**
   * Own notes, a team note for any signed-in member, and anyone's public note (read-only, no sign-in needed).
   * Private and not yours: 404. Signed out, every note that is not public is the same 404 (a team note's
   * existence is not told), with a way to sign in that comes back here.
   */
  @Get(':id')
  @Public()
  async show(@Req() req: Request, @Param('id') id: string): Promise<Page> {
    const viewer = authOf(req).user;
    const note = await this.notes.get(id, viewer?.id ?? null);
    if (!note && !viewer && isId(id)) {
      return new Page(
        'error',
        { title: 'error.404.title', status: 404, page: '404', signIn: `/login?${new URLSearchParams({ next: `/notes/${id}` })}` },
        { status: 404 },
      );
    }
    if (!note) throw new NotFoundException();
    const owner = note.ownerId === viewer?.id;
    // The author's name is for members: a public note's anonymous readers are not told who wrote it.
    const author = owner || !viewer ? null : ((await this.accounts.displayNames([note.ownerId])).get(note.ownerId) ?? '');
    return new Page('notes/show', {
      title: null,
      pageTitle: note.title,
      width: 'medium',
      note,
      owner,
      author,
      editor: mayEdit(note, viewer?.id ?? null),
      shareUrl: note.visibility === 'public' ? `${this.app.publicUrl.replace(/\/$/, '')}/notes/${note.id}` : null,
    });
  }

  @Get(':id/edit')
  @SignedIn()
  async edit(@Req() req: Request, @Param('id') id: string): Promise<Page> {
    const note = await this.editable(req, id);
    return this.editPage(id, { values: storedValues(note), errors: {} }, undefined, note, undefined, authOf(req).user!.id);
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
    const { version, visibility, editableByTeam, ...content } = form;
    const note = await this.editable(req, id);
    const owner = note.ownerId === user.id;
    // A member's form has no visibility or team-editing fields; sending them anyway is refused, as the API does.
    if (!owner && ['visibility', 'editableByTeam'].some((f) => Object.hasOwn(req.body as object, f))) throw new ForbiddenException();
    const input: Partial<NoteInput> = owner ? { ...content, visibility, editableByTeam } : content;
    try {
      const saved = await this.notes.update(user.id, id, input, { expected: version ? [Number(version)] : null });
      if (!saved) throw new NotFoundException();
    } catch (error) {
      if (error instanceof StaleNote) return this.conflictPage(error.current, input, user.id);
      if (error instanceof NoteForbidden) throw new ForbiddenException();
      throw error;
    }
    return new RedirectTo(`/notes/${id}`, { cookies: [this.cookies.setFlash('flash.noteSaved')] });
  }

  /** The edit form again with the person's text, against the note as it is now. */
  private conflictPage(current: NoteView, sent: Partial<NoteInput>, viewerId: string): Page {
    const mine = {
      title: current.title,
      body: current.body,
      tags: current.tags,
      visibility: current.visibility,
      editableByTeam: current.editableByTeam,
      ...sent,
    };
    const values = {
      title: mine.title,
      body: mine.body,
      tags: mine.tags.join(', '),
      visibility: mine.visibility,
      editableByTeam: mine.editableByTeam ? '1' : '',
      version: String(current.version),
    };
    const conflict = { current, diff: diffNotes(current, { ...mine, tags: [...new Set(mine.tags)].sort() }) };
    return this.editPage(current.id, { values, errors: {} }, undefined, current, conflict, viewerId).with({ status: 409 });
  }

  /**
   * Ticks or unticks the n-th task (0-based, as the page counts them) of the note at the version the page showed:
   * a versioned edit, so a note changed since leaves the text as it is and says so.
   */
  @Post(':id/tasks/:n')
  @SignedIn()
  async toggleTask(@Req() req: Request, @Param('id') id: string, @Param('n') n: string, @Body('version') version?: string): Promise<RedirectTo> {
    const user = authOf(req).user!;
    const note = await this.editable(req, id);
    const expected = typeof version === 'string' && /^[1-9][0-9]{0,9}$/.test(version) ? Number(version) : NaN;
    const stale = new RedirectTo(`/notes/${id}`, { cookies: [this.cookies.setFlash('flash.taskStale')] });
    if (expected !== note.version) return stale;
    const body = /^(0|[1-9][0-9]{0,5})$/.test(n) ? toggleTask(note.body, Number(n)) : null;
    if (body === null) throw new NotFoundException();
    try {
      await this.notes.update(user.id, id, { body }, { expected: [expected] });
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
    const note = await this.editable(req, id);
    const from = typeof before === 'string' && /^[1-9][0-9]{0,9}$/.test(before) ? Number(before) : undefined;
    const page = (await this.notes.history(authOf(req).user!.id, id, { before: from, limit: PAGE_SIZE }))!;
    const names = await this.accounts.displayNames(page.items.map((v) => v.authorId));
    return new Page('notes/history', {
      title: 'history.title',
      width: 'medium',
      note,
      versions: page.items.map((v) => ({ ...v, authorName: (v.authorId && names.get(v.authorId)) ?? null })),
      viewerId: authOf(req).user!.id,
      next: page.nextBefore === null ? null : `/notes/${id}/history?before=${page.nextBefore}`,
    });
  }

  /** One version: its text, and what the next version changed. */
  @Get(':id/history/:version')
  @SignedIn()
  async version(@Req() req: Request, @Param('id') id: string, @Param('version') version: string): Promise<Page> {
    const found = /^[1-9][0-9]{0,9}$/.test(version) ? await forbiddenAs403(() => this.notes.revision(authOf(req).user!.id, id, Number(version))) : null;
    if (!found) throw new NotFoundException();
    const names = await this.accounts.displayNames([found.revision.authorId]);
    return new Page('notes/version', {
      title: 'history.version',
      width: 'medium',
      note: found.note,
      revision: { ...found.revision, authorName: (found.revision.authorId && names.get(found.revision.authorId)) ?? null },
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
    const note = await forbiddenAs403(() => this.notes.restoreRevision(user.id, id, number, {}));
    if (!note) throw new NotFoundException();
    return new RedirectTo(`/notes/${id}`, { cookies: [this.cookies.setFlash('flash.versionRestored')] });
  }

  /** A note's form again, as sent with what is wrong; someone else's note (or none) is a 404 whatever was sent. */
  async editForm(form: FormState, req: Request): Promise<Page> {
    const note = await this.editable(req, req.params.id as string);
    return this.editPage(note.id, form, undefined, note, undefined, authOf(req).user!.id);
  }

  @Post(':id/delete')
  @SignedIn()
  async remove(@Req() req: Request, @Param('id') id: string): Promise<RedirectTo> {
    if (!(await forbiddenAs403(() => this.notes.trash(authOf(req).user!.id, id)))) throw new NotFoundException();
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

  /** A note the signed-in reader may edit: 404 when they may not read it, 403 when they may read but not edit it. */
  private async editable(req: Request, id: string): Promise<NoteView> {
    const note = await forbiddenAs403(() => this.notes.editable(id, authOf(req).user!.id));
    if (!note) throw new NotFoundException();
    return note;
  }

  /**
   * A note's form; `note` is the stored note, when the reader may see it. Only its owner (`viewerId`) is
   * offered the visibility and team-editing fields; without a note (a new one, or signed out) they are offered.
   */
  private editPage(id: string, { values, errors }: FormState, refusal?: FormRefusal, note?: NoteView, conflict?: Conflict, viewerId?: string): Page {
    return new Page('notes/edit', {
      title: 'notes.edit',
      width: 'wide',
      note,
      owner: !note || note.ownerId === viewerId,
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
    if (!id)
      return this.newNoteForm({ values: sent ?? { title: '', body: '', tags: '', visibility: 'private', editableByTeam: '' }, errors: {} }, req, refusal);
    const note = await this.editable(req, id);
    return this.editPage(id, { values: sent ?? storedValues(note), errors: {} }, refusal, note, undefined, authOf(req).user!.id);
  }
}

/** The title's and the text's lengths as the rules count them (code points, after the form's own trimming), for the counters. */
function counts(values: Record<string, string>): { title: number; body: number } {
  return { title: [...(values.title ?? '').trim()].length, body: [...(values.body ?? '').replace(/\r\n/g, '\n')].length };
}

/** A stored note as its form shows it. */
function storedValues(note: NoteView): Record<string, string> {
  return {
    title: note.title,
    body: note.body,
    tags: note.tags.join(', '),
    visibility: note.visibility,
    editableByTeam: note.editableByTeam ? '1' : '',
    version: String(note.version),
  };
}

/** Runs a read or a change; a NoteForbidden (the note is readable but not the reader's to change) becomes the 403 page. */
async function forbiddenAs403<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof NoteForbidden) throw new ForbiddenException();
    throw error;
  }
}
