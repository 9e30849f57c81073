import { Controller, Get, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { authOf, Public } from '../auth';
import { render } from './render';

@Controller()
export class HomeController {
  @Get()
  @Public()
  home(@Req() req: Request, @Res() res: Response) {
    if (!authOf(req).user) return res.redirect(302, '/login');
    render(res, 'home');
  }
}
