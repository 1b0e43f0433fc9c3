/**
 * A DTO may recognise inputs that are plainly valid in a few direct checks (`static plainlyValid`), so the hottest
 * routes skip class-transformer and class-validator for them: at the moderate load most deployments run, where each
 * request runs alone on a cold process, the full pipe was about 6 % of the API's main-thread CPU per message sent. It
 * answers the instance the validation pipe would have made, or undefined for anything else, which the pipe then
 * validates in full: every message a client sees about a bad input still comes from the DTO's decorators. Its checks
 * call the same class-validator functions as those decorators, and `plainly-valid.spec.ts` holds the two to each other.
 */
export interface RecognisesPlainlyValid<T> {
  plainlyValid(value: unknown): T | undefined;
}

/** Its own, not inherited: a subclass adds fields and decorators its parent's check knows nothing of. */
function recognises(metatype: unknown): metatype is RecognisesPlainlyValid<object> {
  return (
    typeof metatype === 'function' &&
    Object.hasOwn(metatype, 'plainlyValid') &&
    typeof (metatype as Partial<RecognisesPlainlyValid<object>>).plainlyValid === 'function'
  );
}

/** The DTO instance for `value` when its class recognises it as plainly valid; otherwise undefined. */
export function plainlyValid(metatype: unknown, value: unknown): object | undefined {
  return recognises(metatype) ? metatype.plainlyValid(value) : undefined;
}

/**
 * A plain record: a parsed JSON body (Object.prototype), or the router's path parameters (find-my-way makes them
 * with a prototype that is empty and has none of its own). Anything else (class instances, arrays) is left to the pipe.
 */
function isPlainRecord(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return (
    prototype === Object.prototype ||
    prototype === null ||
    (Object.getPrototypeOf(prototype) === null && Reflect.ownKeys(prototype as object).length === 0)
  );
}

/** `value` as a plain record with exactly these fields (no more: the pipe refuses unknown fields, and says which). */
export function withExactly<K extends string>(value: unknown, fields: readonly K[]): Record<K, unknown> | undefined {
  if (!isPlainRecord(value)) return;
  const keys = Object.keys(value);
  if (keys.length !== fields.length || !fields.every((field) => Object.hasOwn(value, field))) return;
  return value as Record<K, unknown>;
}
