import { ArgumentMetadata, BadRequestException, Injectable, ValidationError, ValidationPipe } from '@nestjs/common';
import { plainlyValid } from './plainly-valid';

function describe(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((text) =>
      text.startsWith(error.property) ? `${parent ? `${parent}.` : ''}${text}` : `${path}: ${text}`,
    );
    return [...own, ...describe(error.children ?? [], path)];
  });
}

/**
 * Every input is a DTO: unknown fields are refused (not silently dropped), types are converted only where a
 * DTO says so, and a body that is not a JSON object is refused before validation. A DTO that recognises plainly valid
 * inputs (RecognisesPlainlyValid) has those taken as they are.
 */
@Injectable()
export class StrictValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      forbidUnknownValues: true,
      stopAtFirstError: true,
      exceptionFactory: (errors) => new BadRequestException(describe(errors).join('; ') || 'Invalid request'),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw new BadRequestException('Request body must be a JSON object');
    }
    if (metadata.type === 'query' && (value === undefined || value === null)) value = {};
    const shortcut = metadata.type === 'custom' ? undefined : plainlyValid(metadata.metatype, value);
    return shortcut ?? super.transform(value, metadata);
  }
}
