import { Body, Controller, Get, NotFoundException, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AuditTrail } from '../audit';
import { Accounts, AdminOnly, authOf, Cookies, ROLES, Role } from '../auth';
import { InstanceRegistry } from '../cluster';
import { field, render } from '../web/render';


@Controller('admin')
@AdminOnly()
export class AdminController {
  constructor(
    private readonly accounts: Accounts,
    private readonly audit: AuditTrail,
    private readonly registry: InstanceRegistry,
    private readonly cookies: Cookies,
  ) {}

  @Get()
  async index(@Res() res: Response) {
    render(res, 'admin/index', { title: 'admin.title', width: 'wide', instances: await this.registry.live() });
  }

  @Get('users')
  async users(@Req() req: Request, @Res() res: Response) {
    render(res, 'admin/users', { title: 'admin.users.title', width: 'wide', users: await this.accounts.list(), me: authOf(req).user!.id });
  }

  @Post('users/:id/role')
  async role(@Req() req: Request, @Res() res: Response, @Param('id') id: string, @Body() body: unknown) {
    const role = field(body, 'role') as Role;
    const target = await this.target(req, id);
    if (!ROLES.includes(role)) throw new NotFoundException();
    await this.accounts.setRole(target.id, role, authOf(req).user!.id);
    this.done(res);
  }

  @Post('users/:id/disable')
  async disable(@Req() req: Request, @Res() res: Response, @Param('id') id: string) {
    const target = await this.target(req, id);
    await this.accounts.setDisabled(target.id, true, authOf(req).user!.id);
    this.done(res);
  }

  @Post('users/:id/enable')
  async enable(@Req() req: Request, @Res() res: Response, @Param('id') id: string) {
    const target = await this.target(req, id);
    await this.accounts.setDisabled(target.id, false, authOf(req).user!.id);
    this.done(res);
  }

  @Get('audit')
  async auditTrail(@Res() res: Response, @Query('type') type?: string) {
    const events = await this.audit.recent(200, typeof type === 'string' && /^[a-z.]{1,64}$/.test(type) ? type : undefined);
    const emails = Object.fromEntries((await this.accounts.list()).map((u) => [u.id, u.email]));
    render(res, 'admin/audit', { title: 'admin.audit.title', width: 'wide', events, emails, type: type ?? '' });
  }

  /** Another account (admins do not demote or disable themselves here: the last admin must not lock everyone out). */
  private async target(req: Request, id: string) {
    const target = /^[0-9a-f-]{36}$/.test(id) ? await this.accounts.findById(id) : null;
    if (!target || target.id === authOf(req).user!.id) throw new NotFoundException();
    return target;
  }

  private done(res: Response) {
    this.cookies.setFlash(res, 'flash.userUpdated');
    res.redirect(303, '/admin/users');
  }
}
