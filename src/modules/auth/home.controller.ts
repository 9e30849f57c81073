import { Controller, Get, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { authOf } from './request-auth';
import { Public } from '../web';

@Controller()
export class HomeController {
  @Get()
  @Public()
  home(@Req() req: Request, @Res() res: Response) {
    res.redirect(302, authOf(req).user ? '/notes' : '/login');
  }
}
