import { Controller, Get } from '@nestjs/common';
import type { ReferenceObject, SchemaObject } from '@nestjs/swagger';
import { ApiExcludeController, Page, Pages, Public } from '../web';
import { ApiDocs } from './api-docs';

/** A schema's property as the page reads it: a schema of its own, or a reference to one. */
type Property = SchemaObject & Partial<ReferenceObject>;

@ApiExcludeController()
@Controller('api/docs')
@Pages()
export class ApiDocsController {
  constructor(private readonly docs: ApiDocs) {}

  /** A readable page (no script: the CSP stays strict). */
  @Get()
  @Public()
  page(): Page {
    const doc = this.docs.get();
    const schemas = Object.entries(doc.components?.schemas ?? {}).map(([name, schema]) => ({
      name,
      properties: Object.entries((schema as { properties?: Record<string, Property>; required?: string[] }).properties ?? {}).map(([prop, p]) => ({
        name: prop,
        // The page words these in the reader's language; the descriptions are the OpenAPI document's (English).
        type: String(p.type ?? (p.$ref ? p.$ref.split('/').pop() : p.allOf ? 'object' : '')),
        items:
          p.type === 'array'
            ? ((p.items as { type?: string; $ref?: string })?.type ??
              String((p.items as { $ref?: string })?.$ref ?? '')
                .split('/')
                .pop())
            : undefined,
        required: ((schema as { required?: string[] }).required ?? []).includes(prop),
        description: p.description ?? '',
        oneOf: p.enum ? (p.enum as string[]).join(', ') : undefined,
      })),
    }));
    return new Page('api-docs', { title: 'apiDocs.title', width: 'wide', info: doc.info, operations: this.docs.operations(), schemas });
  }

  @Get('json')
  @Public()
  json() {
    return this.docs.get();
  }
}
