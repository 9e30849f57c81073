import { Controller, Get, Post, Query, Req } from '@nestjs/common';
import { SecurityConfig } from '@kiroku/config';
import type { Request } from 'express';
import { AuditTrail } from '../audit';
import { Form, FormState, FormView, Page, Pages, Public, RedirectTo, safeNext, SignedIn } from '../web';
import { Accounts } from './accounts.service';
import { Cookies } from './cookies';
import { LoginForm } from './login.form';
import { authOf, signInClient } from './request-auth';
import { SessionStore } from './session.store';
import { LoginThrottleService, SIGNUP_POLICY, signupKey } from './login-throttle.service';
import { SignInService } from './sign-in.service';
import { SignupForm } from './signup.form';

@Controller()
@Pages()
export class AuthController {
  constructor(
    private readonly accounts: Accounts,
    private readonly sessions: SessionStore,
    private readonly cookies: Cookies,
    private readonly audit: AuditTrail,
    private readonly security: SecurityConfig,
    private readonly signIn: SignInService,
    private readonly throttle: LoginThrottleService,
  ) {}

  @Get('login')
  @Public()
  loginPage(@Req() req: Request, @Query('next') next?: string, @Query('signedOut') signedOut?: string): Page | RedirectTo {
    if (authOf(req).user) return new RedirectTo(safeNext(next, '/notes'), { status: 302 });
    return new Page('login', { title: 'login.title', next: safeNext(next, ''), email: '', signedOut: signedOut === '1' });
  }

  @Post('login')
  @Public()
  @FormView<AuthController>('loginForm')
  async login(@Req() req: Request, @Form() form: LoginForm): Promise<Page | RedirectTo> {
    const result = await this.accounts.login(form.email, form.password, req.ip ?? '');
    if (result.outcome === 'throttled') {
      return new Page(
        'login',
        { title: 'login.title', next: form.next, email: form.email, error: 'login.throttled', retryAfterS: result.retryAfterS },
        {
          status: 429,
          headers: { 'Retry-After': String(result.retryAfterS) },
        },
      );
    }
    if (result.outcome === 'invalid')
      return new Page('login', { title: 'login.title', next: form.next, email: form.email, error: 'login.failed' }, { status: 401 });
    if (result.outcome === 'disabled')
      return new Page('login', { title: 'login.title', next: form.next, email: form.email, error: 'login.disabled' }, { status: 403 });
    return new RedirectTo(form.next || '/notes', { cookies: await this.signIn.start(result.user, signInClient(req)) });
  }

  /** A sign-in form refused by the text rule (control characters in the email): the page again, saying so. */
  loginForm(form: FormState): Page {
    return new Page('login', {
      title: 'login.title',
      next: safeNext(form.values.next, ''),
      email: form.values.email,
      error: form.errors.email ?? 'form.errors',
    });
  }

  @Get('signup')
  @Public()
  signupPage(@Req() req: Request): Page | RedirectTo {
    if (authOf(req).user) return new RedirectTo('/notes', { status: 302 });
    return this.signupForm();
  }

  @Post('signup')
  @Public()
  @FormView<AuthController>('signupForm')
  async signup(@Req() req: Request, @Form() form: SignupForm): Promise<Page | RedirectTo> {
    if (this.closed()) return this.signupForm();
    const values = { email: form.email, displayName: form.displayName };
    // Each sign-up costs an argon2 hash and answers whether an email is taken: both are rationed per address.
    const reservation = await this.throttle.reserve([[signupKey(req.ip ?? ''), SIGNUP_POLICY]]);
    if (!reservation.allowed) {
      const retryAfterS = Math.ceil(reservation.retryAfterMs / 1000);
      await this.audit.record('signup.throttled', { ip: req.ip ?? null, details: { retryAfterS } });
      return this.signupForm({ values, errors: { form: 'error.429.text' } }).with({ status: 429, headers: { 'Retry-After': String(retryAfterS) } });
    }
    const signIn = this.signIn.pending(signInClient(req));
    const created = await this.accounts.create({ ...values, password: form.password }, 'user', null, signIn.run);
    if ('errors' in created) return this.signupForm({ values, errors: created.errors }).with({ status: 400 });
    return new RedirectTo('/notes', { cookies: [...signIn.cookies(), this.cookies.setFlash('flash.welcome')] });
  }

  /** The sign-up page: empty, or again with what was sent (never the password) and what is wrong; only a notice (403) while sign-up is closed. */
  signupForm(form?: FormState): Page {
    if (this.closed()) return new Page('signup', { title: 'signup.title', closed: true, values: {} }, { status: 403 });
    if (!form) return new Page('signup', { title: 'signup.title', closed: false, values: {} });
    return new Page('signup', { title: 'signup.title', values: { email: form.values.email, displayName: form.values.displayName }, errors: form.errors });
  }

  private closed(): boolean {
    return this.security.registration === 'closed';
  }

  @Post('logout')
  @SignedIn()
  async logout(@Req() req: Request): Promise<RedirectTo> {
    const { session, user } = authOf(req);
    await this.audit.transaction(async (m, record) => {
      if (session) await this.sessions.delete(session.idHash, m);
      await record('logout', { userId: user?.id ?? null, ip: req.ip ?? null });
    });
    return new RedirectTo('/login?signedOut=1', { cookies: [this.cookies.clear(this.cookies.session)], headers: { 'Clear-Site-Data': '"cookies"' } });
  }
}
