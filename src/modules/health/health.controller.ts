import { Controller, Get, Headers, OnModuleInit, Res, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, HealthIndicatorFunction } from '@nestjs/terminus';
import { MetricsConfig } from '@kiroku/config';
import type { Response } from 'express';
import { bearerMatches, Public } from '../web';
import { InstanceRegistry } from '../cluster';
import { DatabaseIndicator } from './database.indicator';
import { DiskIndicator } from './disk.indicator';
import { EventLoopIndicator } from './event-loop.indicator';
import { InstanceIndicator } from './instance.indicator';
import { SchemaIndicator } from './schema.indicator';

type Checks = HealthCheckResult['details'];

/** Keeps only up/down per check: anonymous callers learn no more than that. */
function statusOnly(checks: Partial<Checks> | undefined): Checks {
  return Object.fromEntries(Object.entries(checks ?? {}).map(([key, value]) => [key, { status: value!.status }]));
}

@Controller('health')
@Public()
export class HealthController implements OnModuleInit {
  constructor(
    private readonly health: HealthCheckService,
    private readonly metrics: MetricsConfig,
    private readonly eventLoop: EventLoopIndicator,
    private readonly database: DatabaseIndicator,
    private readonly schema: SchemaIndicator,
    private readonly disk: DiskIndicator,
    private readonly instance: InstanceIndicator,
    private readonly registry: InstanceRegistry,
  ) {}

  /** Each heartbeat records this instance's readiness, for the console. */
  onModuleInit(): void {
    this.registry.readinessProbe = () => this.notReadyReason();
  }

  /** Null when ready; otherwise the failing checks and their messages, on one line. */
  async notReadyReason(): Promise<string | null> {
    const result = await this.health.check(this.readyChecks()).catch((error: unknown) => {
      if (error instanceof ServiceUnavailableException) return error.getResponse() as HealthCheckResult;
      throw error;
    });
    if (result.status === 'ok') return null;
    return Object.entries(result.error ?? {})
      .map(([name, v]) => `${name}: ${String((v as { message?: string }).message ?? 'down')}`)
      .join('; ');
  }

  private readyChecks(): HealthIndicatorFunction[] {
    return [() => this.instance.check(), () => this.database.check(), () => this.schema.check(), () => this.disk.check()];
  }

  /** The process can serve. Never touches the database: a database outage must not restart every pod. */
  @Get('live')
  live(@Headers('authorization') auth: string | undefined, @Res({ passthrough: true }) res: Response) {
    return this.run([() => this.eventLoop.check()], auth, res);
  }

  /** May receive traffic. */
  @Get('ready')
  ready(@Headers('authorization') auth: string | undefined, @Res({ passthrough: true }) res: Response) {
    return this.run(this.readyChecks(), auth, res);
  }

  /** Start-up finished: migrations run, modules initialised. */
  @Get('startup')
  startup(@Headers('authorization') auth: string | undefined, @Res({ passthrough: true }) res: Response) {
    return this.run([() => this.instance.startup()], auth, res);
  }

  private async run(indicators: HealthIndicatorFunction[], auth: string | undefined, res: Response): Promise<HealthCheckResult> {
    res.setHeader('Cache-Control', 'no-store');
    let result: HealthCheckResult;
    try {
      result = await this.health.check(indicators);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      result = error.getResponse() as HealthCheckResult;
      res.status(503);
    }
    if (this.maySeeDetails(auth)) return result;
    return { status: result.status, info: statusOnly(result.info), error: statusOnly(result.error), details: statusOnly(result.details) };
  }

  private maySeeDetails(auth: string | undefined): boolean {
    return bearerMatches(auth, this.metrics.token);
  }
}
