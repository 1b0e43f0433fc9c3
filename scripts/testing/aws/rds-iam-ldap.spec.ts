import { connect, type Socket } from 'node:net';
import {
  bindRequest,
  bindResponse,
  encodeElement,
  readBindResponse,
  readElement,
  RdsIamLdapStandIn,
  unbindRequest,
} from './rds-iam-ldap';

async function open(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

/** Sends bytes (optionally in pieces) and reads one whole LDAPMessage back. */
async function exchange(socket: Socket, ...pieces: Buffer[]): Promise<Buffer> {
  const reply = new Promise<Buffer>((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      const element = readElement(got);
      if (element) {
        socket.off('data', onData);
        resolve(got.subarray(0, element.size));
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed')));
  });
  for (const piece of pieces) {
    socket.write(piece);
    await new Promise((r) => setImmediate(r));
  }
  return reply;
}

describe('RDS IAM LDAP stand-in (protocol)', () => {
  let server: RdsIamLdapStandIn;
  beforeAll(async () => {
    server = await RdsIamLdapStandIn.start({
      verify: async (user, password) =>
        user === 'cyphr_api' && password === 'good-token' ? { ok: true } : { ok: false, reason: 'bad token' },
    });
  });
  afterAll(() => server.close());

  it('round-trips BER lengths in short and long form', () => {
    for (const size of [0, 5, 127, 128, 255, 256, 3000]) {
      const element = encodeElement(0x04, Buffer.alloc(size, 1));
      expect(readElement(element)).toMatchObject({ tag: 0x04, size: element.length });
      expect(readElement(element.subarray(0, element.length - 1))).toBeUndefined();
    }
    expect(readBindResponse(bindResponse(300, 49, 'no'))).toEqual({ messageId: 300, resultCode: 49, diagnostic: 'no' });
  });

  it('answers success to a good bind and invalidCredentials to a bad one, then ends on unbind', async () => {
    const socket = await open(server.port);
    expect(readBindResponse(await exchange(socket, bindRequest(1, 'cn=cyphr_api,ou=rds-iam', 'good-token')))).toEqual({
      messageId: 1,
      resultCode: 0,
      diagnostic: '',
    });
    const refused = readBindResponse(await exchange(socket, bindRequest(2, 'cn=cyphr_api,ou=rds-iam', 'stale')));
    expect(refused).toMatchObject({ messageId: 2, resultCode: 49, diagnostic: 'bad token' });
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(unbindRequest(3));
    await closed;
    expect(server.binds.slice(-2)).toEqual([
      { user: 'cyphr_api', ok: true },
      { user: 'cyphr_api', ok: false, reason: 'bad token' },
    ]);
  });

  it('reassembles a bind split across packets (a long token with a session token)', async () => {
    const socket = await open(server.port);
    const request = bindRequest(70000, 'cn=cyphr_api,ou=rds-iam', 'x'.repeat(2000));
    const reply = readBindResponse(
      await exchange(socket, request.subarray(0, 3), request.subarray(3, 900), request.subarray(900)),
    );
    expect(reply).toMatchObject({ messageId: 70000, resultCode: 49 });
    socket.destroy();
  });

  it('refuses an empty password (an anonymous bind) and a DN outside ou=rds-iam without asking the verifier', async () => {
    const socket = await open(server.port);
    expect(readBindResponse(await exchange(socket, bindRequest(1, 'cn=cyphr_api,ou=rds-iam', ''))).resultCode).toBe(49);
    expect(
      readBindResponse(await exchange(socket, bindRequest(2, 'cn=cyphr_api,ou=people', 'good-token'))).resultCode,
    ).toBe(49);
    socket.destroy();
  });

  it('closes the connection on any other operation', async () => {
    const socket = await open(server.port);
    const search = encodeElement(
      0x30,
      Buffer.concat([Buffer.from([0x02, 0x01, 0x05]), encodeElement(0x63, Buffer.alloc(0))]),
    );
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(search);
    await closed;
  });
});
