import { Body, Controller, Get, Logger, NotFoundException, Param, Post, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { AuditTrail } from '../audit';
import { AccountLinks, Accounts, authOf, Cookies, ROLES, type FieldErrors } from '../auth';
import { InstanceRegistry } from '../cluster';
import { AppConfig } from '@kiroku/config';
import { AdminOnly, confirmationPage, confirmed, Form, FormView, formatInstant, isLocale, type Locale, Page, Pages, RedirectTo, translate } from '../web';
import { Clock } from '@kiroku/clock';
import { AlertEvaluator, Mailer, RULES } from '../alerts';
import { BackupService } from '../backup';
import { MetricsHistory, Range, RANGES } from '../metrics';
import { formatBytes } from '../storage';
import { AccountCreateForm, InviteCreateForm, ResetLinkForm } from './link.forms';
import { RoleForm } from './role.form';

/** A link just created, shown once on the users page. */
interface NewLink {
  /** `account`: the password link of an account just created (a reset link). */
  kind: 'invite' | 'reset' | 'account';
  email: string;
  url: string;
  expiresAt: string;
}

/** The notice of a link created and not e-mailed, by kind. */
const LINK_CREATED: Record<NewLink['kind'], string> = { invite: 'flash.inviteCreated', account: 'flash.accountCreated', reset: 'flash.resetCreated' };

/** What the users page shows besides its lists: a link just created, and a refused form with what was typed. */
interface UsersPageState {
  status?: number;
  newLink?: NewLink;
  invite?: { email: string; errors: FieldErrors };
  account?: { values: Partial<Record<'email' | 'displayName' | 'role', string>>; errors: FieldErrors };
}

const rangeOf = (range: unknown): Range => (typeof range === 'string' && Object.hasOwn(RANGES, range) ? (range as Range) : 'hour');

/** 3 d 4 h, 5 h 12 min, 42 min, 17 s: the two largest units. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60)];
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min`;
  return `${s} s`;
}

@Controller('admin')
@Pages()
@AdminOnly()
export class AdminController {
  private readonly logger = new Logger('Admin');

  constructor(
    private readonly accounts: Accounts,
    private readonly audit: AuditTrail,
    private readonly registry: InstanceRegistry,
    private readonly cookies: Cookies,
    private readonly alerts: AlertEvaluator,
    private readonly backups: BackupService,
    private readonly history: MetricsHistory,
    private readonly clock: Clock,
    private readonly links: AccountLinks,
    private readonly app: AppConfig,
    private readonly mailer: Mailer,
  ) {}

  @Get()
  async index(@Query('range') range?: string): Promise<Page> {
    const [instances, alerts, runs, backup] = await Promise.all([this.registry.recent(), this.alerts.open(), this.backups.list(3), this.backups.status()]);
    const now = this.clock.nowMs();
    return new Page('admin/index', {
      title: 'admin.title',
      width: 'wide',
      range: rangeOf(range),
      ranges: Object.keys(RANGES),
      instances: instances.map((i) => ({ ...i, uptime: duration(i.uptimeMs) })),
      alerts,
      firing: alerts.filter((a) => a.status === 'firing').length,
      live: instances.filter((i) => i.state === 'live').length,
      missing: instances.filter((i) => i.state === 'missing').length,
      runs: runs.map((r) => ({ ...r, size: r.storedBytes === null ? '' : formatBytes(r.storedBytes) })),
      backupAge: backup.lastSuccessAt ? duration(now - backup.lastSuccessAt.getTime()) : null,
      verifiedAge: backup.lastVerifiedAt ? duration(now - backup.lastVerifiedAt.getTime()) : null,
    });
  }

  /** The charts' data (fetched by the console's script; same origin, session, admin only). */
  @Get('metrics')
  async metrics(@Query('range') range?: string) {
    return this.history.series(rangeOf(range));
  }

  @Post('instances/:id/forget')
  async forget(@Req() req: Request, @Param('id') id: string): Promise<RedirectTo> {
    if (!/^[\w.:-]{1,128}$/.test(id) || !(await this.registry.forget(id))) throw new NotFoundException();
    await this.audit.record('instance.forget', { actorId: authOf(req).user!.id, ip: req.ip ?? null, details: { instance: id } });
    return new RedirectTo('/admin#instances', { cookies: [this.cookies.setFlash('flash.instanceForgotten')] });
  }

  @Get('alerts')
  async alertHistory(): Promise<Page> {
    const [open, history, undelivered] = await Promise.all([this.alerts.open(), this.alerts.history(200), this.alerts.undelivered()]);
    return new Page('admin/alerts', { title: 'admin.alerts.title', width: 'wide', open, history, undelivered, rules: RULES });
  }

  @Get('users')
  async users(@Req() req: Request): Promise<Page> {
    // A link created just before the redirect here is shown this once; the cookie that carried it goes.
    if (!this.cookies.read(req, this.cookies.newLink)) return this.usersPage(req);
    const sealed = this.cookies.readShownOnce(req, 'link', authOf(req).session!.idHash);
    const newLink = sealed ? (JSON.parse(sealed) as NewLink) : undefined;
    return (await this.usersPage(req, { newLink })).with({ cookies: [this.cookies.clear(this.cookies.newLink)] });
  }

  @Post('users/invite')
  async invite(@Req() req: Request, @Form() form: InviteCreateForm): Promise<Page | RedirectTo> {
    const actor = authOf(req);
    const result = await this.links.invite(form.email, actor.user!.id, req.ip ?? null);
    if ('errors' in result) return this.usersPage(req, { status: 400, invite: { email: form.email, errors: result.errors } });
    return this.handOver(req, form.send, { kind: 'invite', email: result.link.email, token: result.token, expiresAt: result.link.expiresAt });
  }

  @Post('users/create')
  @FormView<AdminController>('unknownRole')
  async createAccount(@Req() req: Request, @Form() form: AccountCreateForm): Promise<Page | RedirectTo> {
    const actor = authOf(req);
    const result = await this.links.createAccount({ email: form.email, displayName: form.displayName, role: form.role }, actor.user!.id, req.ip ?? null);
    if ('errors' in result)
      return this.usersPage(req, {
        status: 400,
        account: { values: { email: form.email, displayName: form.displayName, role: form.role }, errors: result.errors },
      });
    return this.handOver(req, form.send, { kind: 'account', email: result.user.email, token: result.token, expiresAt: result.link.expiresAt });
  }

  @Post('users/:id/reset-link')
  async resetLink(@Req() req: Request, @Param('id') id: string, @Form() form: ResetLinkForm): Promise<RedirectTo> {
    const target = await this.target(req, id);
    const actor = authOf(req);
    const result = await this.links.issueReset(target.id, actor.user!.id, req.ip ?? null);
    if (!result) throw new NotFoundException();
    return this.handOver(req, form.send, { kind: 'reset', email: result.user.email, token: result.token, expiresAt: result.link.expiresAt });
  }

  /**
   * E-mails a new link through the one SMTP transport (the alerts'), in the admin's language (the invitee's is not
   * known yet); whether it went. The page shows the link either way, so a refused mail loses nothing.
   */
  private async mail(req: Request, link: NewLink): Promise<boolean> {
    if (!this.mailer.configured) return false;
    const admin = authOf(req).user!;
    const shown = req.res?.locals.locale as unknown;
    const locale: Locale = isLocale(shown) ? shown : 'en';
    const until = formatInstant(new Date(link.expiresAt), locale, admin.timeZone);
    try {
      await this.mailer.send({
        to: link.email,
        subject: translate(locale, `mail.${link.kind}.subject`),
        text: translate(locale, `mail.${link.kind}.text`, [admin.displayName, link.url, until]),
      });
    } catch (error) {
      this.logger.warn(`a ${link.kind} link could not be e-mailed: ${(error as Error).message}`);
      return false;
    }
    await this.audit.record(`${link.kind}.mailed`, { actorId: admin.id, ip: req.ip ?? null });
    return true;
  }

  @Post('links/:id/revoke')
  async revokeLink(@Req() req: Request, @Param('id') id: string): Promise<RedirectTo> {
    if (!/^[0-9a-f-]{36}$/.test(id) || !(await this.links.revoke(id, authOf(req).user!.id, req.ip ?? null))) throw new NotFoundException();
    return new RedirectTo('/admin/users#links', { cookies: [this.cookies.setFlash('flash.linkRevoked')] });
  }

  /**
   * Shows a link just created once on the users page, e-mailed first when the form asked (`send=1`). Post/Redirect/Get:
   * a reload of the page that shows the link must not create another. An account's first password is set through
   * a reset link.
   */
  private async handOver(
    req: Request,
    send: string | undefined,
    created: { kind: NewLink['kind']; email: string; token: string; expiresAt: Date },
  ): Promise<RedirectTo> {
    const url = new URL(created.kind === 'invite' ? '/invite' : '/reset', this.app.publicUrl);
    url.searchParams.set('token', created.token);
    const link: NewLink = { kind: created.kind, email: created.email, url: url.toString(), expiresAt: created.expiresAt.toISOString() };
    const mailed = send === '1' ? await this.mail(req, link) : null;
    const flash = mailed === null ? LINK_CREATED[link.kind] : mailed ? 'flash.linkMailed' : 'flash.linkMailFailed';
    const shownOnce = this.cookies.setShownOnce('link', JSON.stringify(link), authOf(req).session!.idHash);
    return new RedirectTo('/admin/users', { cookies: [shownOnce, this.cookies.setFlash(flash)] });
  }

  private async usersPage(
    req: Request,
    { status = 200, newLink, invite = { email: '', errors: {} }, account = { values: {}, errors: {} } }: UsersPageState = {},
  ): Promise<Page> {
    const [users, links] = await Promise.all([this.accounts.list(), this.links.list()]);
    return new Page(
      'admin/users',
      {
        title: 'admin.users.title',
        width: 'wide',
        users,
        me: authOf(req).user!.id,
        links,
        newLink: newLink && { ...newLink, expiresAt: new Date(newLink.expiresAt) },
        invite,
        account,
        roles: ROLES,
        mail: this.mailer.configured,
      },
      { status, headers: newLink ? { 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' } : {} },
    );
  }

  @Post('users/:id/role')
  @FormView<AdminController>('unknownRole')
  async role(@Req() req: Request, @Param('id') id: string, @Form() form: RoleForm): Promise<RedirectTo> {
    const target = await this.target(req, id);
    await this.accounts.setRole(target.id, form.role, authOf(req).user!.id);
    return this.done();
  }

  /** The select offers only real roles: another one is a forged form, answered like an unknown account. */
  unknownRole(): never {
    throw new NotFoundException();
  }

  /** Disabling an account, second step: whose, and that they are signed out everywhere and their tokens stop. */
  @Get('users/:id/disable')
  async confirmDisable(@Req() req: Request, @Param('id') id: string): Promise<Page> {
    const target = await this.target(req, id);
    return confirmationPage({
      title: 'confirm.disableUser.title',
      question: 'confirm.disableUser.question',
      items: [`${target.displayName} <${target.email}>`],
      consequence: 'confirm.disableUser.consequence',
      submit: 'admin.users.disable',
      action: `/admin/users/${target.id}/disable`,
      cancel: '/admin/users',
    });
  }

  /** Disables the account when confirmed (confirm=yes); otherwise the confirmation page (Post/Redirect/Get). */
  @Post('users/:id/disable')
  async disable(@Req() req: Request, @Param('id') id: string, @Body() body: unknown): Promise<RedirectTo> {
    const target = await this.target(req, id);
    if (!confirmed(body)) return new RedirectTo(`/admin/users/${target.id}/disable`);
    await this.accounts.setDisabled(target.id, true, authOf(req).user!.id);
    return this.done();
  }

  @Post('users/:id/enable')
  async enable(@Req() req: Request, @Param('id') id: string): Promise<RedirectTo> {
    const target = await this.target(req, id);
    await this.accounts.setDisabled(target.id, false, authOf(req).user!.id);
    return this.done();
  }

  @Get('audit')
  async auditTrail(@Query('type') type?: string): Promise<Page> {
    const events = await this.audit.recent(200, typeof type === 'string' && /^[a-z.]{1,64}$/.test(type) ? type : undefined);
    const emails = Object.fromEntries((await this.accounts.list()).map((u) => [u.id, u.email]));
    return new Page('admin/audit', { title: 'admin.audit.title', width: 'wide', events, emails, type: type ?? '' });
  }

  /** Another account (admins do not demote or disable themselves here: the last admin must not lock everyone out). */
  private async target(req: Request, id: string) {
    const target = /^[0-9a-f-]{36}$/.test(id) ? await this.accounts.findById(id) : null;
    if (!target || target.id === authOf(req).user!.id) throw new NotFoundException();
    return target;
  }

  private done(): RedirectTo {
    return new RedirectTo('/admin/users', { cookies: [this.cookies.setFlash('flash.userUpdated')] });
  }
}
