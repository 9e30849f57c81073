import { BlockList, isIPv6 } from 'node:net';
import { Controller, Get, Req, Res } from '@nestjs/common';
import { MetricsConfig } from '@kiroku/config';
import type { Request, Response } from 'express';
import { bearerMatches, Public, sendError } from '../web';
import { MetricsService } from './metrics.service';

/** GET /metrics for Prometheus: with `Authorization: Bearer METRICS_TOKEN`, or from an address in METRICS_ALLOW. */
@Controller('metrics')
@Public()
export class MetricsController {
  private readonly allowed: (address: string) => boolean;

  constructor(
    private readonly metrics: MetricsService,
    private readonly config: MetricsConfig,
  ) {
    this.allowed = addressMatcher(config.allow ?? []);
  }

  /** Not a page: prom-client's text in its registry's content type, refusals with WWW-Authenticate, so the reply is written here. */
  @Get()
  async scrape(@Req() req: Request, @Res() res: Response) {
    if (!this.config.enabled) return sendError(req, res, 404, 'Metrics are switched off (METRICS_ENABLED=false).');
    if (!this.permitted(req)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      return sendError(req, res, 401, 'Metrics need the METRICS_TOKEN bearer token or an address in METRICS_ALLOW.');
    }
    res.setHeader('Content-Type', this.metrics.registry.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.send(await this.metrics.exposition());
  }

  private permitted(req: Request): boolean {
    return bearerMatches(req.headers.authorization, this.config.token) || this.allowed(req.socket.remoteAddress ?? '');
  }
}

/** Whether an address is in a list of addresses and CIDRs (IPv4-mapped IPv6 addresses count as IPv4). */
export function addressMatcher(entries: string[]): (address: string) => boolean {
  if (!entries.length) return () => false;
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/');
    const family = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return (raw) => {
    const address = raw.startsWith('::ffff:') && !isIPv6(raw.slice(7)) ? raw.slice(7) : raw;
    return list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
  };
}
