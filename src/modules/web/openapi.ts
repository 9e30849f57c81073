import type * as Swagger from '@nestjs/swagger';

/** The @nestjs/swagger decorators the DTOs and API controllers use. */
type OpenApiDecorators = Pick<
  typeof Swagger,
  | 'ApiBearerAuth'
  | 'ApiCreatedResponse'
  | 'ApiExcludeController'
  | 'ApiHeader'
  | 'ApiNoContentResponse'
  | 'ApiOkResponse'
  | 'ApiProperty'
  | 'ApiPropertyOptional'
  | 'ApiResponse'
  | 'ApiTags'
>;

type Decoration = (swagger: typeof Swagger) => void;

/** Decorations made before @nestjs/swagger was loaded, in the order TypeScript applied them. */
const pending: Decoration[] = [];
let swagger: typeof Swagger | undefined;

/**
 * @nestjs/swagger itself, with every decoration made so far applied. Only the API description needs it: loading
 * it at every start-up cost ~160 ms and ~6 MiB, so the decorators below record their arguments and the real ones
 * run here, on the first request for /api/docs, with the same arguments on the same classes, in the same order.
 */
export function loadOpenApi(): typeof Swagger {
  if (!swagger) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
    const loaded = require('@nestjs/swagger') as typeof Swagger;
    for (const decorate of pending.splice(0)) decorate(loaded);
    swagger = loaded;
  }
  return swagger;
}

/** Stands in for the @nestjs/swagger decorator `name`: applied now if swagger is loaded, else by loadOpenApi(). */
function deferred<K extends keyof OpenApiDecorators>(name: K): OpenApiDecorators[K] {
  return (...args: unknown[]) =>
    (target: object, key?: string | symbol, descriptor?: PropertyDescriptor): void => {
      const decorate: Decoration = (loaded) => {
        const factory = loaded[name] as (...options: unknown[]) => (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => unknown;
        factory(...args)(target, key, descriptor);
      };
      if (swagger) decorate(swagger);
      else pending.push(decorate);
    };
}

export const ApiBearerAuth = deferred('ApiBearerAuth');
export const ApiCreatedResponse = deferred('ApiCreatedResponse');
export const ApiExcludeController = deferred('ApiExcludeController');
export const ApiHeader = deferred('ApiHeader');
export const ApiNoContentResponse = deferred('ApiNoContentResponse');
export const ApiOkResponse = deferred('ApiOkResponse');
export const ApiProperty = deferred('ApiProperty');
export const ApiPropertyOptional = deferred('ApiPropertyOptional');
export const ApiResponse = deferred('ApiResponse');
export const ApiTags = deferred('ApiTags');
