import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { QueueSendError } from '../infrastructure/sqs-batcher';
import { RateLimitedException } from '../rate-limits/rate-limiter.service';
import { errorBody, ErrorBody } from './error-body';
import type { HttpRequest } from './http-types';

/** Turns anything thrown while handling a request into `{statusCode, error, message}`; only real bugs are 500. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  /** Written through the HTTP adapter (a FastifyReply underneath). */
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response: unknown = host.switchToHttp().getResponse();
    const body = this.toBody(exception);
    if (body.statusCode >= 500) {
      // Named here: nothing carries the request id into this line otherwise (see requestLog).
      const id = host.switchToHttp().getRequest<HttpRequest>().id;
      const detail = exception instanceof Error ? (exception.stack ?? exception.message) : String(exception);
      this.logger.error(`request ${id ?? '-'}: ${detail}`);
    }
    const adapter = this.adapterHost.httpAdapter;
    if (adapter.isHeadersSent(response)) return;
    if (exception instanceof RateLimitedException)
      adapter.setHeader(response, 'Retry-After', String(exception.retryAfterSeconds));
    adapter.reply(response, body, body.statusCode);
  }

  private toBody(exception: unknown): ErrorBody {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const payload = exception.getResponse();
      if (typeof payload === 'string') return errorBody(status, payload);
      const { message, error } = payload as { message?: unknown; error?: unknown };
      const text = Array.isArray(message)
        ? message.join('; ')
        : typeof message === 'string'
          ? message
          : exception.message;
      return errorBody(status, text, typeof error === 'string' ? error : undefined);
    }
    if (exception instanceof QueueSendError) {
      return errorBody(
        HttpStatus.SERVICE_UNAVAILABLE,
        'The message queue is unavailable; retry with the same clientMessageId',
      );
    }
    return errorBody(HttpStatus.INTERNAL_SERVER_ERROR, 'Internal server error');
  }
}
