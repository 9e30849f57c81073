import { Body, Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import { SecurityConfig } from '@kiroku/config';
import type { Request, Response } from 'express';
import { AuditTrail } from '../audit';
import { field, Public, render, safeNext, SignedIn } from '../web';
import { Accounts } from './accounts.service';
import { Cookies } from './cookies';
import { authOf } from './request-auth';
import { SessionStore } from './session.store';
import { LoginThrottleService, SIGNUP_POLICY, signupKey } from './login-throttle.service';
import { SignInService } from './sign-in.service';

@Controller()
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
  loginPage(@Req() req: Request, @Res() res: Response, @Query('next') next?: string, @Query('signedOut') signedOut?: string) {
    if (authOf(req).user) return res.redirect(302, safeNext(next, '/notes'));
    render(res, 'login', { title: 'login.title', next: safeNext(next, ''), email: '', signedOut: signedOut === '1' });
  }

  @Post('login')
  @Public()
  async login(@Req() req: Request, @Res() res: Response, @Body() body: unknown) {
    const email = field(body, 'email');
    const next = safeNext(field(body, 'next'), '');
    const result = await this.accounts.login(email, field(body, 'password'), req.ip ?? '');
    if (result.outcome === 'throttled') {
      res.setHeader('Retry-After', String(result.retryAfterS));
      return render(res, 'login', { title: 'login.title', next, email, error: 'login.throttled', retryAfterS: result.retryAfterS }, 429);
    }
    if (result.outcome === 'invalid') return render(res, 'login', { title: 'login.title', next, email, error: 'login.failed' }, 401);
    await this.signIn.start(req, res, result.user);
    res.redirect(303, next || '/notes');
  }

  @Get('signup')
  @Public()
  signupPage(@Req() req: Request, @Res() res: Response) {
    if (authOf(req).user) return res.redirect(302, '/notes');
    const closed = this.security.registration === 'closed';
    render(res, 'signup', { title: 'signup.title', closed, values: {} }, closed ? 403 : 200);
  }

  @Post('signup')
  @Public()
  async signup(@Req() req: Request, @Res() res: Response, @Body() body: unknown) {
    if (this.security.registration === 'closed') return render(res, 'signup', { title: 'signup.title', closed: true, values: {} }, 403);
    const values = { email: field(body, 'email'), displayName: field(body, 'displayName') };
    // Each sign-up costs an argon2 hash and answers whether an email is taken: both are rationed per address.
    const reservation = await this.throttle.reserve([[signupKey(req.ip ?? ''), SIGNUP_POLICY]]);
    if (!reservation.allowed) {
      const retryAfterS = Math.ceil(reservation.retryAfterMs / 1000);
      res.setHeader('Retry-After', String(retryAfterS));
      await this.audit.record('signup.throttled', { ip: req.ip ?? null, details: { retryAfterS } });
      return render(res, 'signup', { title: 'signup.title', values, errors: { form: 'error.429.text' } }, 429);
    }
    const created = await this.accounts.create({ ...values, password: field(body, 'password') });
    if ('errors' in created) return render(res, 'signup', { title: 'signup.title', values, errors: created.errors }, 400);
    await this.signIn.start(req, res, created.user);
    this.cookies.setFlash(res, 'flash.welcome');
    res.redirect(303, '/notes');
  }

  @Post('logout')
  @SignedIn()
  @HttpCode(303)
  async logout(@Req() req: Request, @Res() res: Response) {
    const { session, user } = authOf(req);
    if (session) await this.sessions.delete(session.idHash);
    await this.audit.record('logout', { userId: user?.id ?? null, ip: req.ip ?? null });
    this.cookies.clear(res, this.cookies.session);
    res.setHeader('Clear-Site-Data', '"cookies"');
    res.redirect(303, '/login?signedOut=1');
  }
}

