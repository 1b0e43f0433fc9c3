import { BadRequestException } from '@nestjs/common';
import { advance, decodeSyncCursor, encodeSyncCursor, FROM_SCRATCH } from './sync-cursor';

const b64 = (text: string) => Buffer.from(text).toString('base64url');

describe('sync cursors', () => {
  it('round-trip, up to the largest bigint', () => {
    const cursor = { messages: '9223372036854775807', changes: '42' };
    const encoded = encodeSyncCursor(cursor);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeSyncCursor(encoded)).toEqual(cursor);
    expect(decodeSyncCursor(encodeSyncCursor(FROM_SCRATCH))).toEqual(FROM_SCRATCH);
  });

  it.each([
    ['not base64url', 'a+b/c='],
    ['not JSON', b64('{nope')],
    ['not an object', b64('[1,2]')],
    ['unknown version', b64('{"v":2,"m":"1","c":"1"}')],
    ['positions must be decimal bigints', b64('{"v":1,"m":1,"c":"1"}')],
    ['positions must be decimal bigints', b64('{"v":1,"m":"01","c":"1"}')],
    ['positions must be decimal bigints', b64('{"v":1,"m":"-1","c":"1"}')],
    ['positions must be decimal bigints', b64('{"v":1,"m":"9223372036854775808","c":"1"}')],
    ['too long', 'a'.repeat(201)],
  ])('refuses %s with a 400 saying so', (reason, since) => {
    expect(() => decodeSyncCursor(since)).toThrow(BadRequestException);
    expect(() => decodeSyncCursor(since)).toThrow(reason);
  });

  it('advances only forwards, to the highest settled position', () => {
    expect(advance('10', [null, '7', '12', undefined, '11'])).toBe('12');
    expect(advance('10', ['3', null])).toBe('10');
    expect(advance('10', [])).toBe('10');
    expect(advance('9', ['10'])).toBe('10');
  });
});
