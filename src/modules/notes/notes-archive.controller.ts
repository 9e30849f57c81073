import { Controller, Get, Post, Req, Res, UploadedFile } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { AuditTrail } from '../audit';
import { authOf, Cookies } from '../auth';
import { Page, Pages, RedirectTo, SignedIn } from '../web';
import { markdownZip, readMarkdownZip } from './markdown-archive';
import { NotesService } from './notes.service';

/** /account's notes section: one's own notes out as a zip of Markdown files, and such a zip back in. */
@Controller('account/notes')
@Pages()
@SignedIn()
export class NotesArchiveController {
  constructor(
    private readonly notes: NotesService,
    private readonly audit: AuditTrail,
    private readonly cookies: Cookies,
    private readonly clock: Clock,
  ) {}

  /** A stream: the zip is written as the notes are read, and a failure midway must cut the connection (see below). */
  @Get('export')
  async export(@Req() req: Request, @Res() res: Response) {
    const user = authOf(req).user!;
    const list = await this.notes.exportList(user.id);
    await this.audit.record('notes.exported', { userId: user.id, ip: req.ip ?? null, details: { notes: list.length } });
    const day = this.clock.now().toISOString().slice(0, 10);
    res.setHeader('Content-Type', 'application/zip');
    res.setHeader('Content-Disposition', `attachment; filename="kiroku-notes-${day}.zip"`);
    res.setHeader('Cache-Control', 'no-store');
    // Headers are sent by now: a failure midway can only cut the download short, which unzip reports.
    await pipeline(
      markdownZip(list, (ids) => this.notes.exportBatch(user.id, ids)),
      res,
    ).catch((error: Error) => res.destroy(error));
  }

  /** The zip comes parsed by MultipartMiddleware (before the CSRF check reads the form's token). */
  @Post('import')
  async import(@Req() req: Request, @UploadedFile() file?: Express.Multer.File): Promise<Page | RedirectTo> {
    const user = authOf(req).user!;
    if (!file) return new Page('notes/import-result', { title: 'account.notes.importFailed', width: 'medium', problems: [], missing: true }, { status: 400 });
    const reading = await readMarkdownZip(file.buffer, this.clock.now());
    if (reading.problems.length) {
      await this.audit.record('notes.import.refused', { userId: user.id, ip: req.ip ?? null, details: { problems: reading.problems.length } });
      return new Page(
        'notes/import-result',
        { title: 'account.notes.importFailed', width: 'medium', problems: reading.problems.slice(0, 20), more: Math.max(0, reading.problems.length - 20) },
        { status: 400 },
      );
    }
    // The notes and the event in one write: a failure (a 503 when the database stays busy) keeps neither, so that
    // trying again does not import the notes twice.
    await this.audit.recordWith(
      'notes.imported',
      { userId: user.id, ip: req.ip ?? null, details: { notes: reading.notes.length, skipped: reading.skipped } },
      (event) => this.notes.importMany(user.id, reading.notes, [event]),
    );
    return new RedirectTo('/notes', { cookies: [this.cookies.setFlash('flash.notesImported')] });
  }
}
