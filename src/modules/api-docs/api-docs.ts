import { INestApplication, Injectable } from '@nestjs/common';
import { APP_VERSION } from '@kiroku/config';
import type { OpenAPIObject } from '@nestjs/swagger';
import { loadOpenApi } from '../web';

/** The OpenAPI description of /api/v1, generated from the controllers and DTOs themselves. */
@Injectable()
export class ApiDocs {
  private document?: OpenAPIObject;
  private source?: { app: INestApplication; publicUrl: string };

  /** Where the description comes from; it is generated on the first request for it, not at every start-up. */
  describe(app: INestApplication, publicUrl: string): void {
    this.source = { app, publicUrl };
  }

  private build({ app, publicUrl }: { app: INestApplication; publicUrl: string }): OpenAPIObject {
    const { DocumentBuilder, SwaggerModule } = loadOpenApi();
    const config = new DocumentBuilder()
      .setTitle('Kiroku JSON API')
      .setDescription(
        'Markdown notes for scripts. Authenticate with a personal access token (create one on /account or with `kiroku tokens create`) ' +
          'sent as `Authorization: Bearer <token>`. Errors are RFC 9457 `application/problem+json`; request bodies up to 1 MiB.',
      )
      .setVersion(APP_VERSION)
      .addServer(publicUrl)
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'personal access token: krk_…' })
      .build();
    const document = SwaggerModule.createDocument(app, config, { deepScanRoutes: true });
    // Only the JSON API is described: pages (and their forms' DTOs) and probes are not part of it.
    document.paths = Object.fromEntries(Object.entries(document.paths).filter(([path]) => path.startsWith('/api/v1/')));
    if (document.components?.schemas) document.components.schemas = referencedSchemas(document.paths, document.components.schemas);
    return document;
  }

  get(): OpenAPIObject {
    if (!this.source) throw new Error('the API description has no application to describe');
    return (this.document ??= this.build(this.source));
  }

  /** Operations in reading order, for the HTML page. */
  operations(): Array<{
    method: string;
    path: string;
    summary: string;
    responses: Array<{ status: string; description: string }>;
    body?: string;
    parameters: string[];
  }> {
    const doc = this.get();
    return Object.entries(doc.paths).flatMap(([path, item]) =>
      (['get', 'post', 'patch', 'delete'] as const)
        .filter((m) => item[m])
        .map((m) => {
          const op = item[m]!;
          const ref = (op.requestBody as { content?: Record<string, { schema?: { $ref?: string } }> } | undefined)?.content?.['application/json']?.schema?.$ref;
          return {
            method: m.toUpperCase(),
            path,
            summary: op.summary ?? op.description ?? '',
            body: ref?.split('/').pop(),
            parameters: (op.parameters ?? []).map((p) => ('name' in p ? `${p.name} (${p.in})` : '')).filter(Boolean),
            responses: Object.entries(op.responses ?? {}).map(([status, r]) => ({ status, description: (r as { description?: string }).description ?? '' })),
          };
        }),
    );
  }
}

/** The schemas the paths refer to, directly or through other schemas, in their order. */
function referencedSchemas<S>(paths: OpenAPIObject['paths'], schemas: Record<string, S>): Record<string, S> {
  const kept = new Set<string>();
  const visit = (value: unknown) => {
    for (const [, name] of JSON.stringify(value).matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
      if (kept.has(name) || !Object.hasOwn(schemas, name)) continue;
      kept.add(name);
      visit(schemas[name]);
    }
  };
  visit(paths);
  return Object.fromEntries(Object.entries(schemas).filter(([name]) => kept.has(name)));
}
