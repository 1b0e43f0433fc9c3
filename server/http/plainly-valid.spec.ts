import 'reflect-metadata';
import { ArgumentMetadata, BadRequestException, ValidationPipe } from '@nestjs/common';
import { TransformationType } from 'class-transformer';
// @ts-expect-error class-transformer ships its metadata store untyped under cjs/ (types/storage.d.ts describes it)
import { defaultMetadataStorage as transformerStore } from 'class-transformer/cjs/storage';
import type { MetadataStorage } from 'class-transformer/types/MetadataStorage';
import { getMetadataStorage } from 'class-validator';
import fc from 'fast-check';
import FindMyWay from 'find-my-way';
import { randomBytes, randomUUID } from 'node:crypto';
import { MAX_CIPHERTEXT_BASE64_LENGTH } from '../../common/contracts/queue-messages';
import { ConversationIdParams, MemberParams } from '../conversations/conversations.dto';
import { SendMessageDto } from '../messages/messages.dto';
import { plainlyValid } from './plainly-valid';
import { StrictValidationPipe } from './validation.pipe';

/** What the pipe makes of `value` without the shortcut: the DTO instance, or the 400 it throws. */
async function fullValidation(metatype: ArgumentMetadata['metatype'], type: 'body' | 'param', value: unknown) {
  const pipe = new StrictValidationPipe();
  try {
    return { accepted: await ValidationPipe.prototype.transform.call(pipe, value, { type, metatype }) };
  } catch (error) {
    if (!(error instanceof BadRequestException)) throw error;
    return { refused: error.message };
  }
}

/** The class-validator constraints on a DTO, as `property:constraint`. */
const constraints = (target: new () => object) =>
  getMetadataStorage()
    .getTargetValidationMetadatas(target, '', true, false)
    .map((metadata) => `${metadata.propertyName}:${metadata.name}:${JSON.stringify(metadata.constraints ?? [])}`);

const defaultMetadataStorage = transformerStore as MetadataStorage;

/** Whatever class-transformer would do to a DTO's fields beyond copying them (the shortcut only copies). */
const transformations = (target: new () => object, fields: string[]) => [
  ...defaultMetadataStorage.getExposedMetadatas(target),
  ...defaultMetadataStorage.getExcludedMetadatas(target),
  ...fields.flatMap((field) => [
    ...defaultMetadataStorage.findTransformMetadatas(target, field, TransformationType.PLAIN_TO_CLASS),
    ...[defaultMetadataStorage.findTypeMetadata(target, field)].filter(Boolean),
  ]),
];

/** Path parameters as Fastify's router hands them to the pipe (an object of its own make, not a plain one). */
function routerParams(id: string): unknown {
  const router = FindMyWay();
  router.on('POST', '/v1/conversations/:id/messages', () => undefined);
  return router.find('POST', `/v1/conversations/${id}/messages`)?.params;
}

const base64 = (bytes: number) => randomBytes(bytes).toString('base64');

/**
 * Inputs near a DTO's valid shape: each field kept, dropped, replaced by another value (strings from the characters
 * uuids and base64 are made of, and the ones they must not hold), or trimmed/extended; sometimes an extra field.
 */
function nearShape(shape: () => Record<string, unknown>) {
  const text = fc.string({ unit: fc.constantFrom(...'ABCDEFabcdef0123456789+/=-_ .\n\u00e9\uff10'), maxLength: 48 });
  const variant = (value: unknown) =>
    fc.oneof(
      fc.constant(value),
      text,
      fc.constantFrom(null, 7, true, {}, [], undefined),
      fc
        .tuple(text, fc.boolean())
        .map(([extra, before]) => (before ? `${extra}${String(value)}` : `${String(value)}${extra}`)),
      fc.nat({ max: 40 }).map((cut) => String(value).slice(0, cut)),
      fc.constant(String(value).toUpperCase()),
    );
  const valid = shape();
  const fields = Object.fromEntries(Object.entries(valid).map(([key, value]) => [key, variant(value)]));
  return fc
    .tuple(fc.record(fields, { requiredKeys: [] }), fc.option(fc.tuple(text, text), { freq: 4 }))
    .map(([record, extra]) => (extra ? { ...record, [extra[0] || 'extra']: extra[1] } : record));
}

describe.each([
  {
    dto: SendMessageDto,
    type: 'body' as const,
    expected: [
      'clientMessageId:isUuid:["all"]',
      'ciphertext:isString:[]',
      'ciphertext:isNotEmpty:[]',
      `ciphertext:maxLength:[${MAX_CIPHERTEXT_BASE64_LENGTH}]`,
      'ciphertext:isBase64:[null]',
    ],
    valid: [
      { clientMessageId: randomUUID(), ciphertext: base64(256) },
      { clientMessageId: randomUUID().toUpperCase(), ciphertext: base64(1) },
      { clientMessageId: randomUUID(), ciphertext: base64(2) },
      { clientMessageId: randomUUID(), ciphertext: base64((MAX_CIPHERTEXT_BASE64_LENGTH / 4) * 3) },
      Object.assign(Object.create(null), { clientMessageId: randomUUID(), ciphertext: 'YWJj' }),
    ],
    other: [
      { clientMessageId: randomUUID(), ciphertext: base64(3), extra: 1 },
      { clientMessageId: randomUUID() },
      { clientMessageId: 'not-a-uuid', ciphertext: base64(3) },
      { clientMessageId: randomUUID(), ciphertext: '' },
      { clientMessageId: randomUUID(), ciphertext: 'YQ' },
      { clientMessageId: randomUUID(), ciphertext: 'a-b_' },
      { clientMessageId: randomUUID(), ciphertext: `${base64(3)} ` },
      { clientMessageId: randomUUID(), ciphertext: 'A'.repeat(MAX_CIPHERTEXT_BASE64_LENGTH + 4) },
      { clientMessageId: randomUUID(), ciphertext: 12 },
      { clientMessageId: [randomUUID()], ciphertext: base64(3) },
    ],
    unusual: [JSON.parse(`{"__proto__":{"x":1},"clientMessageId":"${randomUUID()}","ciphertext":"YWJj"}`)],
    shape: () => ({ clientMessageId: randomUUID(), ciphertext: base64(24) }),
  },
  {
    dto: ConversationIdParams,
    type: 'param' as const,
    expected: ['id:isUuid:["all"]'],
    valid: [{ id: randomUUID() }, { id: randomUUID().toUpperCase() }, routerParams(randomUUID())],
    other: [
      { id: 'nope' },
      { id: randomUUID(), userId: randomUUID() },
      {},
      { id: `${randomUUID()}x` },
      routerParams('nope'),
    ],
    unusual: [JSON.parse(`{"__proto__":{"x":1},"id":"${randomUUID()}"}`)],
    shape: () => ({ id: randomUUID() }),
  },
])('$dto.name recognises plainly valid inputs', ({ dto, type, expected, valid, other, unusual, shape }) => {
  it('checks what its decorators check: a new decorator fails this until plainlyValid checks it too', () => {
    expect(constraints(dto)).toEqual(expected);
    expect(transformations(dto, Object.keys(shape()))).toEqual([]);
  });

  it('takes valid inputs as they are, making the instance the pipe would make', async () => {
    for (const value of valid) {
      const shortcut = plainlyValid(dto, value);
      expect(shortcut).toBeInstanceOf(dto);
      expect(shortcut).toStrictEqual((await fullValidation(dto, type, value)).accepted);
    }
  });

  it('leaves every other input to the pipe, whose decorators refuse it with their own message', async () => {
    for (const value of other) {
      expect(plainlyValid(dto, value)).toBeUndefined();
      expect((await fullValidation(dto, type, value)).refused).toEqual(expect.any(String));
    }
  });

  it('leaves a parsed "__proto__" key to the pipe, which decides as before', async () => {
    for (const value of unusual) {
      expect(plainlyValid(dto, value)).toBeUndefined();
      expect(await fullValidation(dto, type, value)).toEqual({ accepted: expect.any(dto) });
    }
  });

  it('never accepts what the pipe refuses, over 2,000 inputs near the valid shape', async () => {
    let taken = 0;
    await fc.assert(
      fc.asyncProperty(nearShape(shape), async (value) => {
        const shortcut = plainlyValid(dto, value);
        if (shortcut === undefined) return;
        taken++;
        expect(await fullValidation(dto, type, value)).toStrictEqual({ accepted: shortcut });
      }),
      { numRuns: 2_000, seed: 42 },
    );
    expect(taken).toBeGreaterThan(0); // some inputs stay valid (fields kept, a uuid's case changed), so it has teeth
  });
});

describe('the validation pipe', () => {
  it('never lends a DTO’s check to a subclass, which has fields of its own', async () => {
    const params = { id: randomUUID() };
    expect(plainlyValid(MemberParams, params)).toBeUndefined();
    expect((await fullValidation(MemberParams, 'param', params)).refused).toMatch(/userId must be a uuid/);
  });

  it('leaves custom parameters as the pipe does (untouched)', async () => {
    const body = { clientMessageId: randomUUID(), ciphertext: base64(16) };
    const taken = await new StrictValidationPipe().transform(body, { type: 'custom', metatype: SendMessageDto });
    expect(taken).toBe(body);
  });

  it('answers a plainly valid body without class-validator, and a bad one with the decorators’ message', async () => {
    const pipe = new StrictValidationPipe();
    const body = { clientMessageId: randomUUID(), ciphertext: base64(16) };
    const metadata: ArgumentMetadata = { type: 'body', metatype: SendMessageDto };
    const validate = jest.spyOn(ValidationPipe.prototype, 'transform');
    expect(await pipe.transform(body, metadata)).toEqual(Object.assign(new SendMessageDto(), body));
    expect(validate).not.toHaveBeenCalled();
    await expect(pipe.transform({ ...body, ciphertext: 'YQ' }, metadata)).rejects.toThrow('ciphertext must be base64');
    expect(validate).toHaveBeenCalledTimes(1);
    validate.mockRestore();
  });
});
