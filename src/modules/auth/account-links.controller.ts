import { Controller, Get, Post, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { Form, Page, Pages, Public, RedirectTo } from '../web';
import { AccountLinkKind } from './account-link.entity';
import { InviteForm, ResetForm } from './account-link.form';
import { AccountLinks, Gone } from './account-links.service';
import { FieldErrors } from './accounts.service';
import { Cookies } from './cookies';
import { signInClient } from './request-auth';
import { SignInService } from './sign-in.service';

/**
 * The secret travels in the query string, never the path: the access log records paths only. These pages send no
 * Referer and are not cached.
 */
const PRIVATE = { 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store' };

/**
 * The pages an invitation or reset link opens: `/invite?token=…` (the sign-up form, its email fixed) and
 * `/reset?token=…` (a new password). They work whatever REGISTRATION says. A link that no longer works answers a
 * page that says so and what to do: 410 Gone when it was used, revoked or expired, 404 when there is no such link.
 */
@Controller()
@Pages()
export class AccountLinksController {
  constructor(
    private readonly links: AccountLinks,
    private readonly signIn: SignInService,
    private readonly cookies: Cookies,
  ) {}

  @Get('invite')
  @Public()
  async invitePage(@Query('token') token?: string): Promise<Page> {
    const opened = await this.links.open('invite', token);
    if (!('link' in opened)) return this.gone('invite', opened);
    return this.invitePageFor(token!, opened.link.email);
  }

  @Post('invite')
  @Public()
  async accept(@Req() req: Request, @Form() form: InviteForm): Promise<Page | RedirectTo> {
    const signIn = this.signIn.pending(signInClient(req));
    const result = await this.links.acceptInvite(form.token, { displayName: form.displayName, password: form.password }, req.ip ?? null, signIn.run);
    if ('gone' in result) return this.gone('invite', result);
    if ('errors' in result) {
      const opened = await this.links.open('invite', form.token);
      if (!('link' in opened)) return this.gone('invite', opened);
      return this.invitePageFor(form.token, opened.link.email, { displayName: form.displayName }, result.errors);
    }
    return new RedirectTo('/notes', { cookies: [...signIn.cookies(), this.cookies.setFlash('flash.welcome')], headers: PRIVATE });
  }

  @Get('reset')
  @Public()
  async resetPage(@Query('token') token?: string): Promise<Page> {
    const opened = await this.links.open('reset', token);
    if (!('link' in opened)) return this.gone('reset', opened);
    return this.resetPageFor(token!, opened.link.email);
  }

  @Post('reset')
  @Public()
  async reset(@Req() req: Request, @Form() form: ResetForm): Promise<Page | RedirectTo> {
    // Every session of the member ends with the reset; this browser starts a new one, in the same transaction.
    const signIn = this.signIn.pending(signInClient(req));
    const result = await this.links.resetWith(form.token, form.password, req.ip ?? null, signIn.run);
    if ('gone' in result) return this.gone('reset', result);
    if ('errors' in result) {
      const opened = await this.links.open('reset', form.token);
      if (!('link' in opened)) return this.gone('reset', opened);
      return this.resetPageFor(form.token, opened.link.email, result.errors);
    }
    return new RedirectTo('/notes', { cookies: [...signIn.cookies(), this.cookies.setFlash('flash.passwordReset')], headers: PRIVATE });
  }

  private invitePageFor(token: string, email: string, values: Record<string, string> = {}, errors?: FieldErrors): Page {
    return new Page('invite', { title: 'invite.title', token, email, values, errors }, { status: errors ? 400 : 200, headers: PRIVATE });
  }

  private resetPageFor(token: string, email: string, errors?: FieldErrors): Page {
    return new Page('reset', { title: 'reset.title', token, email, errors }, { status: errors ? 400 : 200, headers: PRIVATE });
  }

  private gone(kind: AccountLinkKind, opened: Gone): Page {
    const state = opened.gone;
    return new Page('link-gone', { title: `linkGone.${kind}.title`, kind, state }, { status: state === 'unknown' ? 404 : 410, headers: PRIVATE });
  }
}
