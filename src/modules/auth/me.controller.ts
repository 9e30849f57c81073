import { Controller, Get, Req } from '@nestjs/common';
import type { Request } from 'express';
import { SignedIn } from './access.decorator';
import { authOf } from './request-auth';

@Controller('api/v1')
export class MeController {
  @Get('me')
  @SignedIn()
  me(@Req() req: Request) {
    const { id, email, displayName, role } = authOf(req).user!;
    return { id, email, displayName, role };
  }
}
