import { INestApplication, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ModulesContainer } from '@nestjs/core';
import { getMetadataStorage } from 'class-validator';
import { ACCESS_KEY, AccessLevel } from '../../src/modules/web';

/** What a route reads from a request, by its handler's parameter decorators. */
export interface RouteInputs {
  /** Body fields: those of its DTO (@Body() dto, @Form() form) and those it names (@Body('version')). */
  body: string[];
  /** Body fields its DTO holds as arrays (the API's tags). */
  arrays: string[];
  /** Query parameters it names (@Query('q')) or its query DTO declares (@Query() query: ListNotesQuery). */
  query: string[];
  /** It takes the whole query as it comes (@Query() raw): which parameters it reads is the handler's own business. */
  wholeQuery: boolean;
  /** It takes an uploaded file (@UploadedFile()). */
  file: boolean;
}

export interface RouteInfo {
  method: string;
  path: string;
  access: AccessLevel | undefined;
  handler: string;
  inputs: RouteInputs;
}

/** The properties a class-validator DTO declares, and which of them are arrays. */
function dtoFields(dto: unknown): { fields: string[]; arrays: string[] } | null {
  if (typeof dto !== 'function' || dto === Object || dto === String) return null;
  const metas = getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
  if (!metas.length) return null;
  return {
    fields: [...new Set(metas.map((m) => m.propertyName))],
    arrays: [...new Set(metas.filter((m) => m.name === 'isArray').map((m) => m.propertyName))],
  };
}

/** A handler's inputs, from Nest's route-argument metadata and the parameters' design types. */
function inputsOf(controller: object, name: string): RouteInputs {
  const args: Record<string, { index: number; data?: unknown }> = Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ?? {};
  const types: unknown[] = Reflect.getMetadata('design:paramtypes', (controller as { prototype: object }).prototype, name) ?? [];
  const inputs: RouteInputs = { body: [], arrays: [], query: [], wholeQuery: false, file: false };
  for (const [key, { index, data }] of Object.entries(args)) {
    const type = Number(key.split(':')[0]) as RouteParamtypes;
    if (type === RouteParamtypes.FILE || type === RouteParamtypes.FILES) inputs.file = true;
    if (type !== RouteParamtypes.BODY && type !== RouteParamtypes.QUERY) continue;
    const named = typeof data === 'string' ? [data] : [];
    const dto = named.length ? null : dtoFields(types[index]);
    if (type === RouteParamtypes.BODY) {
      inputs.body.push(...named, ...(dto?.fields ?? []));
      inputs.arrays.push(...(dto?.arrays ?? []));
    } else {
      inputs.query.push(...named, ...(dto?.fields ?? []));
      if (!named.length && !dto) inputs.wholeQuery = true;
    }
  }
  return inputs;
}

const join = (...parts: string[]) =>
  `/${parts
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter(Boolean)
    .join('/')}`;

/** Every route the application registered, from Nest's own metadata. */
export function listRoutes(app: INestApplication): RouteInfo[] {
  const routes: RouteInfo[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: unknown[]) => object) | undefined;
      if (!controller) continue;
      const base: string = Reflect.getMetadata(PATH_METADATA, controller) ?? '';
      const proto = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(proto)) {
        const fn = proto[name];
        if (name === 'constructor' || typeof fn !== 'function') continue;
        const method: RequestMethod | undefined = Reflect.getMetadata(METHOD_METADATA, fn);
        if (method === undefined) continue;
        const path: string = Reflect.getMetadata(PATH_METADATA, fn) ?? '';
        const access: AccessLevel | undefined = Reflect.getMetadata(ACCESS_KEY, fn) ?? Reflect.getMetadata(ACCESS_KEY, controller);
        routes.push({
          method: RequestMethod[method],
          path: join(base, path),
          access,
          handler: `${controller.name}.${name}`,
          inputs: inputsOf(controller, name),
        });
      }
    }
  }
  return routes.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}
