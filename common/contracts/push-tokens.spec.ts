import { pushTokenProblem } from './push-tokens';

describe('push tokens', () => {
  it('takes each provider’s shape and names what is wrong otherwise', () => {
    expect(pushTokenProblem('apns', 'ab'.repeat(32))).toBeUndefined();
    expect(pushTokenProblem('apns', 'ab'.repeat(16))).toMatch(
      /not a valid apns token: expected at least 64 hexadecimal/,
    );
    expect(pushTokenProblem('apns', 'zz'.repeat(32))).toMatch(/not a valid apns token/);
    expect(pushTokenProblem('fcm', 'dGVzdA:APA91b'.padEnd(150, 'x'))).toBeUndefined();
    expect(pushTokenProblem('fcm', 'a b'.padEnd(40, 'c'))).toMatch(/not a valid fcm token/);
    expect(pushTokenProblem('webhook', 'gw-token_0123456789')).toBeUndefined();
    expect(pushTokenProblem('webhook', 'has"quote-0123456789')).toMatch(/not a valid webhook token/);
    expect(pushTokenProblem('webhook', 'x'.repeat(4097))).toBe('token must be at most 4096 characters');
  });
});
