import { Body, Controller, Get, NotFoundException, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AuditTrail } from '../audit';
import { field, isLocale, isTimeZone, render, SignedIn } from '../web';
import { Accounts, FieldErrors } from './accounts.service';
import { ApiTokens } from './api-tokens.service';
import { Cookies } from './cookies';
import { authOf } from './request-auth';
import { SessionStore } from './session.store';
import { SignInService } from './sign-in.service';

@Controller('account')
@SignedIn()
export class AccountController {
  constructor(
    private readonly accounts: Accounts,
    private readonly sessions: SessionStore,
    private readonly tokens: ApiTokens,
    private readonly cookies: Cookies,
    private readonly signIn: SignInService,
    private readonly audit: AuditTrail,
  ) {}

  @Get()
  async page(@Req() req: Request, @Res() res: Response) {
    await this.show(req, res);
  }

  @Post('preferences')
  async preferences(@Req() req: Request, @Res() res: Response, @Body() body: unknown) {
    const user = authOf(req).user!;
    const locale = field(body, 'locale');
    const timeZone = field(body, 'timeZone');
    if ((locale && !isLocale(locale)) || !isTimeZone(timeZone)) return this.show(req, res, { preferences: 'form.errors' }, 400);
    await this.accounts.updatePreferences(user.id, { locale: isLocale(locale) ? locale : null, timeZone });
    this.done(res, 'flash.preferencesSaved');
  }

  @Post('password')
  async password(@Req() req: Request, @Res() res: Response, @Body() body: unknown) {
    const { user, session } = authOf(req);
    const errors = await this.accounts.changePassword(user!, field(body, 'currentPassword'), field(body, 'newPassword'), session!.idHash, req.ip ?? '');
    if (errors && 'retryAfterS' in errors) {
      res.setHeader('Retry-After', String(errors.retryAfterS));
      return this.show(req, res, { currentPassword: 'error.429.text' }, 429);
    }
    if (errors) return this.show(req, res, errors, 400);
    // A credential change is a privilege change: this browser gets a new session id too.
    await this.signIn.start(req, res, user!);
    this.done(res, 'flash.passwordChanged');
  }

  @Post('sessions/revoke-others')
  async revokeOthers(@Req() req: Request, @Res() res: Response) {
    const { user, session } = authOf(req);
    const ended = await this.sessions.deleteForUser(user!.id, session!.idHash);
    await this.audit.record('sessions.revoked', { userId: user!.id, ip: req.ip ?? null, details: { ended } });
    this.done(res, 'flash.othersRevoked');
  }

  @Post('sessions/:id/revoke')
  async revoke(@Req() req: Request, @Res() res: Response, @Param('id') id: string) {
    const { user, session } = authOf(req);
    const own = (await this.sessions.listForUser(user!.id)).find((s) => this.sessions.handleOf(s.idHash) === id);
    if (!own) throw new NotFoundException();
    await this.sessions.delete(own.idHash);
    await this.audit.record('session.revoked', { userId: user!.id, ip: req.ip ?? null });
    if (own.idHash === session!.idHash) {
      this.cookies.clear(res, this.cookies.session);
      return res.redirect(303, '/login');
    }
    this.done(res, 'flash.sessionRevoked');
  }

  @Post('tokens')
  async createToken(@Req() req: Request, @Res() res: Response, @Body() body: unknown) {
    const user = authOf(req).user!;
    const name = field(body, 'name').trim();
    if (!name || [...name].length > 100) return this.show(req, res, { tokenName: 'account.tokens.nameInvalid' }, 400);
    const { token, row } = await this.tokens.create(user.id, name);
    await this.audit.record('token.created', { userId: user.id, ip: req.ip ?? null, details: { tokenId: row.id, prefix: row.prefix } });
    await this.show(req, res, {}, 201, token);
  }

  @Post('tokens/:id/revoke')
  async revokeToken(@Req() req: Request, @Res() res: Response, @Param('id') id: string) {
    const user = authOf(req).user!;
    const row = await this.tokens.revoke(user.id, id);
    if (!row) throw new NotFoundException();
    await this.audit.record('token.revoked', { userId: user.id, ip: req.ip ?? null, details: { tokenId: row.id, prefix: row.prefix } });
    this.done(res, 'flash.tokenRevoked');
  }

  private done(res: Response, flash: string) {
    this.cookies.setFlash(res, flash);
    res.redirect(303, '/account');
  }

  private async show(req: Request, res: Response, errors: FieldErrors = {}, status = 200, newToken?: string) {
    const { user, session } = authOf(req);
    const [sessions, tokens] = await Promise.all([this.sessions.listForUser(user!.id), this.tokens.list(user!.id)]);
    render(res, 'account', {
      title: 'account.title', width: 'medium',
      sessions: sessions.map(({ idHash, csrfToken: _csrf, ...s }) => ({ ...s, handle: this.sessions.handleOf(idHash), current: idHash === session?.idHash })),
      tokens, newToken, errors,
    }, status);
  }
}
