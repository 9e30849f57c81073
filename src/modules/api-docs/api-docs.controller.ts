import { Controller, Get } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Page, Public } from '../web';
import { ApiDocs } from './api-docs';

@ApiExcludeController()
@Controller('api/docs')
export class ApiDocsController {
  constructor(private readonly docs: ApiDocs) {}

  /** A readable page (no script: the CSP stays strict). */
  @Get()
  @Public()
  page(): Page {
    const doc = this.docs.get();
    const schemas = Object.entries(doc.components?.schemas ?? {}).map(([name, schema]) => ({
      name,
      properties: Object.entries((schema as { properties?: Record<string, Record<string, unknown>>; required?: string[] }).properties ?? {}).map(
        ([prop, p]) => ({
          name: prop,
          type:
            String(p.type ?? (p.$ref ? String(p.$ref).split('/').pop() : p.allOf ? 'object' : '')) +
            (p.type === 'array'
              ? ` of ${
                  (p.items as { type?: string; $ref?: string })?.type ??
                  String((p.items as { $ref?: string })?.$ref ?? '')
                    .split('/')
                    .pop()
                }`
              : ''),
          required: ((schema as { required?: string[] }).required ?? []).includes(prop),
          description: String(p.description ?? (p.enum ? `one of ${(p.enum as string[]).join(', ')}` : '')),
        }),
      ),
    }));
    return new Page('api-docs', { title: 'apiDocs.title', width: 'wide', info: doc.info, operations: this.docs.operations(), schemas });
  }

  @Get('json')
  @Public()
  json() {
    return this.docs.get();
  }
}
