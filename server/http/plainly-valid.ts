/**
 * A DTO may recognise inputs that are plainly valid in a few direct checks (`static plainlyValid`), so the hottest
 * routes skip class-transformer and class-validator for them: at the moderate load most deployments run, where each
 * request runs alone on a cold process, the full pipe was about 8 % of the API's CPU per message sent. It answers
 * the instance the validation pipe would have made, or undefined for anything else, which the pipe then validates
 * in full: every message a client sees about a bad input still comes from the DTO's decorators. Its checks call the
 * same class-validator functions as those decorators, and `plainly-valid.spec.ts` holds the two to each other.
 */
export interface RecognisesPlainlyValid<T> {
  plainlyValid(value: unknown): T | undefined;
}

function recognises(metatype: unknown): metatype is RecognisesPlainlyValid<object> {
  return typeof (metatype as Partial<RecognisesPlainlyValid<object>> | undefined)?.plainlyValid === 'function';
}

/** The DTO instance for `value` when its class recognises it as plainly valid; otherwise undefined. */
export function plainlyValid(metatype: unknown, value: unknown): object | undefined {
  return recognises(metatype) ? metatype.plainlyValid(value) : undefined;
}

/**
 * `value` as a JSON object with exactly these fields (no more: the pipe refuses unknown fields, and says which).
 * Objects with another prototype (class instances, null-prototype ones) are left to the pipe.
 */
export function withExactly<K extends string>(value: unknown, fields: readonly K[]): Record<K, unknown> | undefined {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return;
  const keys = Object.keys(value);
  if (keys.length !== fields.length || !fields.every((field) => Object.hasOwn(value, field))) return;
  return value as Record<K, unknown>;
}
