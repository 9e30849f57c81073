import { Controller, Get, Req } from '@nestjs/common';
import type { Request } from 'express';
import { ApiBearerAuth, ApiOkResponse, ApiResponse, ApiTags, ProblemDto, SignedIn } from '../web';
import { MeDto } from './me.dto';
import { authOf } from './request-auth';

@ApiTags('account')
@ApiBearerAuth()
@Controller('api/v1')
export class MeController {
  @Get('me')
  @SignedIn()
  @ApiOkResponse({ type: MeDto, description: 'the account the token (or session) belongs to' })
  @ApiResponse({ status: 401, type: ProblemDto, description: 'no or invalid token' })
  me(@Req() req: Request): MeDto {
    const { id, email, displayName, role } = authOf(req).user!;
    return { id, email, displayName, role };
  }
}
