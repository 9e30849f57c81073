import { CanActivate, ExecutionContext, ForbiddenException, Injectable, InternalServerErrorException, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AuditTrail } from '../audit';
import { ACCESS_KEY, AccessLevel, SignInRequired } from '../web';
import { authOf } from './request-auth';

/** Deny by default: a route without @Public(), @SignedIn() or @AdminOnly() is refused for everyone. */
@Injectable()
export class AccessGuard implements CanActivate {
  private readonly logger = new Logger('Access');

  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditTrail,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const level = this.reflector.getAllAndOverride<AccessLevel | undefined>(ACCESS_KEY, [context.getHandler(), context.getClass()]);
    const req = context.switchToHttp().getRequest<Request>();
    if (!level) {
      this.logger.error(`${context.getClass().name}.${context.getHandler().name} has no access marking: refused`);
      throw new InternalServerErrorException();
    }
    if (level === 'public') return true;
    const { user } = authOf(req);
    if (!user) throw new SignInRequired();
    if (level === 'admin' && user.role !== 'admin') {
      await this.audit.record('access.denied', { userId: user.id, ip: req.ip ?? null, details: { path: req.path.slice(0, 200) } });
      throw new ForbiddenException();
    }
    return true;
  }
}
