import { Controller, Get, NotFoundException, Param, Post, Req } from '@nestjs/common';
import { BackupConfig } from '@kiroku/config';
import type { Request } from 'express';
import { AuditTrail } from '../audit';
import { authOf, Cookies } from '../auth';
import { BackupBusy, BackupRun, BackupService } from '../backup';
import { AdminOnly, Page, Pages, RedirectTo } from '../web';
import { formatBytes } from '../storage';

/** How long a button waits for a quick answer (busy, or done) before saying "started". */
const QUICK_MS = 1500;

/** /admin/backups: the catalog, run now, verify. Long work continues after the redirect. */
@Controller('admin/backups')
@Pages()
@AdminOnly()
export class BackupsController {
  constructor(
    private readonly backups: BackupService,
    private readonly config: BackupConfig,
    private readonly audit: AuditTrail,
    private readonly cookies: Cookies,
  ) {}

  @Get()
  async index(): Promise<Page> {
    const runs = (await this.backups.list(100)).map((r) => ({
      ...r,
      // Stored but failing its verification: not a backup to count on (the run counts as failed for alerts).
      state: r.prunedAt ? 'pruned' : r.status === 'succeeded' && r.verifyStatus === 'failed' ? 'unverified' : r.status,
      seconds: r.finishedAt ? Math.max(0, Math.round((r.finishedAt.getTime() - r.startedAt.getTime()) / 1000)) : null,
      size: r.storedBytes === null ? '' : formatBytes(r.storedBytes),
    }));
    return new Page('admin/backups', {
      title: 'admin.backups.title',
      width: 'wide',
      runs,
      problem: await this.backups.problem(),
      generatedKey: this.config.generatedIdentityFile ?? null,
      destination: this.backups.destination.description,
      schedule: this.config.schedule,
      retentionDays: this.config.retentionDays,
    });
  }

  @Post('run')
  async run(@Req() req: Request): Promise<RedirectTo> {
    // Not offered while backups cannot be made (the page says why): a run would only record a failure and fire
    // "Backup failing" for a setting not yet made.
    if (await this.backups.problem()) return this.finish('flash.backupCannot');
    await this.audit.record('backup.run', { actorId: authOf(req).user!.id, ip: req.ip ?? null });
    const outcome = await quickly(this.backups.run('manual'));
    return this.finish(
      outcome === 'busy'
        ? 'flash.backupBusy'
        : outcome === 'pending'
          ? 'flash.backupStarted'
          : outcome.status === 'succeeded'
            ? 'flash.backupDone'
            : 'flash.backupFailed',
    );
  }

  @Post(':id/verify')
  async verify(@Req() req: Request, @Param('id') id: string): Promise<RedirectTo> {
    const run = /^[0-9a-f-]{36}$/.test(id) ? await this.backups.find(id) : null;
    if (!run || run.status !== 'succeeded' || run.prunedAt) throw new NotFoundException();
    await this.audit.record('backup.verify', { actorId: authOf(req).user!.id, ip: req.ip ?? null, details: { backupId: id } });
    const outcome = await quickly(this.backups.verify(id));
    return this.finish(
      outcome === 'pending' ? 'flash.verifyStarted' : outcome !== 'busy' && outcome.verifyStatus === 'passed' ? 'flash.verifyPassed' : 'flash.verifyFailed',
    );
  }

  private finish(flash: string): RedirectTo {
    return new RedirectTo('/admin/backups', { cookies: [this.cookies.setFlash(flash)] });
  }
}

/** The result if it comes within QUICK_MS; otherwise 'pending' (the work goes on, its outcome lands in the catalog). */
async function quickly(work: Promise<BackupRun>): Promise<BackupRun | 'busy' | 'pending'> {
  const settled = work.then(
    (run) => run,
    (error: Error) => {
      if (error instanceof BackupBusy) return 'busy' as const;
      throw error;
    },
  );
  settled.catch(() => undefined); // failures are recorded in the catalog and logged by the service
  let timer: NodeJS.Timeout | undefined;
  const later = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), QUICK_MS)));
  try {
    return await Promise.race([settled, later]);
  } finally {
    clearTimeout(timer);
  }
}
