import { Controller, Get, Req } from '@nestjs/common';
import type { Request } from 'express';
import { authOf } from './request-auth';
import { Pages, Public, RedirectTo } from '../web';

@Controller()
@Pages()
export class HomeController {
  @Get()
  @Public()
  home(@Req() req: Request): RedirectTo {
    return new RedirectTo(authOf(req).user ? '/notes' : '/login', { status: 302 });
  }
}
