import { REDACTED, redactUrl } from './logging';

describe('redactUrl', () => {
  it('replaces token values in the query, whatever their position or case', () => {
    expect(redactUrl('/v1/ws?token=eyJhbGciOi.x.y')).toBe(`/v1/ws?token=${REDACTED}`);
    expect(redactUrl('/v1/ws?a=1&Token=abc&b=2')).toBe(`/v1/ws?a=1&Token=${REDACTED}&b=2`);
    expect(redactUrl('/v1/users/me?access_token=abc#frag')).toBe(`/v1/users/me?access_token=${REDACTED}#frag`);
  });

  it('leaves other URLs alone', () => {
    expect(redactUrl('/v1/conversations?before=123&tokens=1')).toBe('/v1/conversations?before=123&tokens=1');
    expect(redactUrl(undefined)).toBe('');
  });
});
