import { applyDecorators } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiResponse } from '@nestjs/swagger';
import { DECORATORS } from '@nestjs/swagger/dist/constants';
import { STATUS_CODES } from 'node:http';
import type { ErrorBody } from './error-body';

/** The one error shape every 4xx/5xx answer has (AllExceptionsFilter writes it). */
export class ErrorBodyDto implements ErrorBody {
  @ApiProperty({ example: 400 })
  statusCode!: number;
  @ApiProperty({ example: 'Bad Request', description: 'The HTTP reason phrase' })
  error!: string;
  @ApiProperty({ example: 'username must be longer than or equal to 3 characters' })
  message!: string;
}

/** What each status means on this API, unless the route says more. */
const ERROR_MEANINGS: Record<number, string> = {
  400: 'The body, path or query fails validation',
  401: 'No access token, or one that is expired, revoked or unknown',
  403: 'Not allowed to do this',
  404: 'Not found, or not visible to the caller',
  409: 'Conflicts with what is stored',
  413: 'The body is larger than the API accepts',
  429: 'Rate limited; Retry-After says when to try again',
  503: 'A dependency the operation needs is down; retry later',
};

/** A status, or a status with what it means on this route. */
export type ErrorResponse = number | [status: number, description: string];

/** The error answers an operation can give, each with the shared error schema: `@ApiErrors(400, 401, 429)`. */
export function ApiErrors(...responses: ErrorResponse[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...responses.map((response) => {
      const [status, description] = Array.isArray(response) ? response : [response, undefined];
      return ApiResponse({
        status,
        type: ErrorBodyDto,
        description: description ?? ERROR_MEANINGS[status] ?? STATUS_CODES[status],
      });
    }),
  );
}

/** Summary and operationId (client generators name their methods after it) in one line. */
export function ApiSummary(operationId: string, summary: string, description?: string): MethodDecorator {
  return ApiOperation({ operationId, summary, description });
}

/**
 * OpenAPI `security: []`: the operation needs no access token (the document's default is the bearer token).
 * Applied by @Public(), so the contract and the guard cannot disagree.
 */
export function ApiNoSecurity(): MethodDecorator & ClassDecorator {
  const decorator = (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor): void => {
    // On a class, an empty security list survives into each operation; on a method it is dropped as empty
    // unless it travels in the operation's own metadata (merged, so the order with @ApiSummary does not matter).
    if (!descriptor) return Reflect.defineMetadata(DECORATORS.API_SECURITY, [], target);
    const method = descriptor.value as object;
    const operation = (Reflect.getMetadata(DECORATORS.API_OPERATION, method) ?? {}) as object;
    Reflect.defineMetadata(DECORATORS.API_OPERATION, { ...operation, security: [] }, method);
  };
  return decorator as MethodDecorator & ClassDecorator;
}
