import { gzipSync } from 'node:zlib';
import { Captured, findPlaintexts, needlesFor, randomWords } from './find-plaintexts';

/** The scan that proves "no plaintext anywhere" must demonstrably find one that is there, in every encoding. */
describe('findPlaintexts', () => {
  const secret = randomWords(16);
  const capture = (source: string, text: string | Buffer): Captured => ({
    source,
    data: Buffer.isBuffer(text) ? text : Buffer.from(text),
  });

  it('finds a planted plaintext as text, base64 at every alignment, base64url and hex, and says where', () => {
    const bytes = Buffer.from(secret);
    const captures = [
      capture('log', `{"level":30,"msg":"sent ${secret}"}`),
      ...[0, 1, 2].map((shift) =>
        capture(
          `sqs shift ${shift}`,
          `{"body":"${Buffer.concat([Buffer.alloc(shift, 7), bytes, Buffer.from('!')]).toString('base64')}"}`,
        ),
      ),
      capture('redis', Buffer.concat([Buffer.from([0xff, 0xfe]), bytes]).toString('base64url')),
      capture('pg', `42\t\\x${bytes.toString('hex')}\n`),
      capture('pg upper', `X'${bytes.toString('hex').toUpperCase()}'`),
      capture('clean', 'nothing to see'),
    ];
    const findings = findPlaintexts(captures, ['unrelated words only', secret]);
    const where = new Map(findings.map((finding) => [finding.source, finding]));
    expect([...where.keys()].sort()).toEqual([
      'log',
      'pg',
      'pg upper',
      'redis',
      'sqs shift 0',
      'sqs shift 1',
      'sqs shift 2',
    ]);
    expect(findings.every((finding) => finding.plaintext === 1)).toBe(true);
    expect(where.get('log')).toMatchObject({ encoding: 'utf8', offset: 24 });
    expect(where.get('redis')!.encoding).toMatch(/^base64/);
    expect(where.get('pg')!.encoding).toBe('hex');
    expect(where.get('log')!.context).toContain('sent ');
  });

  it('finds nothing where the plaintext is absent or only encrypted-looking bytes are', () => {
    const noise = capture('noise', gzipSync(Buffer.from(secret)).toString('base64'));
    expect(findPlaintexts([noise, capture('other', randomWords(16))], [secret])).toEqual([]);
  });

  it('keeps base64 needles long enough not to match by chance', () => {
    for (const needle of needlesFor(randomWords(16))) expect(needle.bytes.length).toBeGreaterThanOrEqual(16);
  });
});
