import { STATUS_CODES } from 'node:http';

/** Every error the API returns has this shape. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

export function errorBody(statusCode: number, message: string, error = STATUS_CODES[statusCode] ?? 'Error'): ErrorBody {
  return { statusCode, error, message };
}
