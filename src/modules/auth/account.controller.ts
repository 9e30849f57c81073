import { Body, Controller, Get, NotFoundException, Param, Post, Query, Req } from '@nestjs/common';
import { BadCursor } from '@kiroku/persistence';
import type { Request } from 'express';
import { AuditTrail } from '../audit';
import { confirmationPage, confirmed, Form, FormState, FormView, isLocale, Page, Pages, RedirectTo, SetCookie, SignedIn } from '../web';
import { Accounts, FieldErrors } from './accounts.service';
import { ApiTokens } from './api-tokens.service';
import { Cookies } from './cookies';
import { deviceOf } from './device';
import { isTheme, THEMES } from './user.entity';
import { PasswordForm } from './password.form';
import { PreferencesForm } from './preferences.form';
import { authOf, signInClient } from './request-auth';
import { SessionStore } from './session.store';
import { SignInService } from './sign-in.service';
import { TokenForm } from './token.form';

/** Devices and tokens /account shows; the rest are counted (tokens: a link to all of them). */
const ACCOUNT_LIST = 20;
/** Tokens a page of /account/tokens shows. */
const TOKENS_PAGE = 50;

@Controller('account')
@Pages()
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
  async page(@Req() req: Request): Promise<Page> {
    // A token created just before the redirect here is shown this once; the cookie that carried it goes.
    if (!this.cookies.read(req, this.cookies.newToken)) return this.accountPage(req);
    const token = this.cookies.readNewToken(req, authOf(req).session!.idHash);
    return (await this.accountPage(req, {}, 200, token)).with({ cookies: [this.cookies.clear(this.cookies.newToken)] });
  }

  @Post('preferences')
  @FormView<AccountController>('preferencesForm')
  async preferences(@Req() req: Request, @Form() form: PreferencesForm): Promise<RedirectTo> {
    await this.accounts.updatePreferences(authOf(req).user!.id, {
      locale: isLocale(form.locale) ? form.locale : null,
      timeZone: form.timeZone,
      theme: isTheme(form.theme) ? form.theme : undefined,
    });
    return this.done('flash.preferencesSaved');
  }

  /** Refused preferences: one notice over the form. */
  preferencesForm(_form: FormState, req: Request): Promise<Page> {
    return this.accountPage(req, { preferences: 'form.errors' });
  }

  @Post('password')
  async password(@Req() req: Request, @Form() form: PasswordForm): Promise<Page | RedirectTo> {
    const { user, session } = authOf(req);
    // A credential change is a privilege change: this browser gets a new session id too, in the same transaction.
    const signIn = this.signIn.pending(signInClient(req));
    const errors = await this.accounts.changePassword(user!, form.currentPassword, form.newPassword, session!.idHash, req.ip ?? '', signIn.run);
    if (errors && 'retryAfterS' in errors) {
      return (await this.accountPage(req, { currentPassword: 'error.429.text' })).with({ status: 429, headers: { 'Retry-After': String(errors.retryAfterS) } });
    }
    if (errors) return this.accountPage(req, errors, 400);
    return this.done('flash.passwordChanged', signIn.cookies());
  }

  @Post('sessions/revoke-others')
  async revokeOthers(@Req() req: Request): Promise<RedirectTo> {
    const { user, session } = authOf(req);
    await this.audit.transaction(async (m, record) => {
      const ended = await this.sessions.deleteForUser(user!.id, session!.idHash, m);
      await record('sessions.revoked', { userId: user!.id, ip: req.ip ?? null, details: { ended } });
    });
    return this.done('flash.othersRevoked');
  }

  @Post('sessions/:id/revoke')
  async revoke(@Req() req: Request, @Param('id') id: string): Promise<RedirectTo> {
    const { user, session } = authOf(req);
    const own = (await this.sessions.listForUser(user!.id)).find((s) => this.sessions.handleOf(s.idHash) === id);
    if (!own) throw new NotFoundException();
    await this.audit.transaction(async (m, record) => {
      await this.sessions.delete(own.idHash, m);
      await record('session.revoked', { userId: user!.id, ip: req.ip ?? null });
    });
    if (own.idHash === session!.idHash) return new RedirectTo('/login', { cookies: [this.cookies.clear(this.cookies.session)] });
    return this.done('flash.sessionRevoked');
  }

  @Post('tokens')
  @FormView<AccountController>('tokenForm')
  async createToken(@Req() req: Request, @Form() form: TokenForm): Promise<RedirectTo> {
    const { user, session } = authOf(req);
    const { token } = await this.tokens.create(user!.id, form.name, { ip: req.ip ?? null });
    // Post/Redirect/Get: a reload of the page that shows the token must not create another.
    return this.done('flash.tokenCreated', [this.cookies.setNewToken(token, session!.idHash)]);
  }

  /** A refused token name: the problem under the name field. */
  tokenForm({ errors }: FormState, req: Request): Promise<Page> {
    return this.accountPage(req, { tokenName: errors.name });
  }

  /** Revoking a token, second step: which token, and that scripts using it stop working. */
  @Get('tokens/:id/revoke')
  async confirmRevokeToken(@Req() req: Request, @Param('id') id: string): Promise<Page> {
    const row = await this.tokens.find(authOf(req).user!.id, id);
    if (!row) throw new NotFoundException();
    return confirmationPage({
      title: 'confirm.revokeToken.title',
      question: 'confirm.revokeToken.question',
      items: [`${row.name} (${row.prefix}…)`],
      consequence: 'confirm.revokeToken.consequence',
      submit: 'account.tokens.revoke',
      action: `/account/tokens/${row.id}/revoke`,
      cancel: '/account',
    });
  }

  /** Revokes the token when confirmed (confirm=yes); otherwise the confirmation page (Post/Redirect/Get). */
  @Post('tokens/:id/revoke')
  async revokeToken(@Req() req: Request, @Param('id') id: string, @Body() body: unknown): Promise<RedirectTo> {
    const user = authOf(req).user!;
    if (!confirmed(body)) {
      if (!(await this.tokens.find(user.id, id))) throw new NotFoundException();
      return new RedirectTo(`/account/tokens/${id}/revoke`);
    }
    if (!(await this.tokens.revoke(user.id, id, { ip: req.ip ?? null }))) throw new NotFoundException();
    return this.done('flash.tokenRevoked');
  }

  private done(flash: string, cookies: SetCookie[] = []): RedirectTo {
    return new RedirectTo('/account', { cookies: [...cookies, this.cookies.setFlash(flash)] });
  }

  /** Every token of the account, newest first, a page at a time (the account page shows only the newest). */
  @Get('tokens')
  async tokenList(@Req() req: Request, @Query('after') after?: string): Promise<Page> {
    const user = authOf(req).user!;
    let page;
    try {
      page = await this.tokens.page(user.id, typeof after === 'string' ? after : null, TOKENS_PAGE);
    } catch (error) {
      if (error instanceof BadCursor) throw new NotFoundException();
      throw error;
    }
    return new Page('account/tokens', {
      title: 'account.tokens.title',
      width: 'medium',
      tokens: page.items,
      count: await this.tokens.count(user.id),
      next: page.nextCursor ? `/account/tokens?${new URLSearchParams({ after: page.nextCursor })}` : null,
    });
  }

  private async accountPage(req: Request, errors: FieldErrors = {}, status = 200, newToken?: string): Promise<Page> {
    const { user, session } = authOf(req);
    const [all, tokens] = await Promise.all([this.sessions.listForUser(user!.id), this.tokens.page(user!.id, null, ACCOUNT_LIST)]);
    // The page stays small however many devices or tokens there are: the most recently seen devices (this one
    // always) and the newest tokens, each with how many more.
    const sessions = all.slice(0, ACCOUNT_LIST);
    const here = all.find((s) => s.idHash === session?.idHash);
    if (here && !sessions.includes(here)) sessions.splice(ACCOUNT_LIST - 1, 1, here);
    return new Page(
      'account',
      {
        title: 'account.title',
        width: 'medium',
        themes: THEMES,
        moreSessions: all.length - sessions.length,
        tokenCount: tokens.nextCursor ? await this.tokens.count(user!.id) : tokens.items.length,
        sessions: sessions.map(({ idHash, csrfToken: _csrf, ...s }) => ({
          ...s,
          device: deviceOf(s.userAgent),
          handle: this.sessions.handleOf(idHash),
          current: idHash === session?.idHash,
        })),
        tokens: tokens.items,
        newToken,
        errors,
      },
      { status },
    );
  }
}
