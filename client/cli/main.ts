/**
 * The Cyphr command line: `npm run cli -- --home DIR [--server URL] <command> [args]`. One device's state lives in
 * DIR (files mode 0600, directory 0700); key material is never printed. Answers are JSON, one object a line; on
 * failure one line `error: ...` on stderr and a non-zero exit code.
 */
import { WebSocket } from 'ws';
import { MessengerClient, WebSocketConstructor } from '../sdk';
import { CryptoError } from '../sdk/errors';
import { FileStore } from '../storage/file-store';
import { COMMANDS, usage } from './commands';

const DEFAULT_SERVER = 'http://127.0.0.1:3001';
const SERVER_KEY = 'cli/server';

interface Invocation {
  home: string;
  server?: string;
  command: string;
  args: string[];
}

function parse(argv: string[]): Invocation {
  let home: string | undefined;
  let server: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--home') home = argv[++i];
    else if (argv[i] === '--server') server = argv[++i];
    else rest.push(argv[i]);
  }
  const [command, ...args] = rest;
  if (!home || !command) throw new Error(usage());
  return { home, server, command, args };
}

async function main(): Promise<number> {
  const invocation = parse(process.argv.slice(2));
  const command = COMMANDS[invocation.command];
  if (!command) throw new Error(`unknown command "${invocation.command}"\n${usage()}`);
  if (invocation.args.length < command.minArgs) throw new Error(`usage: ${invocation.command} ${command.args}`);
  const store = new FileStore(invocation.home);
  // The server is remembered per home, so only the first command needs --server.
  const server = invocation.server ?? (await store.get(SERVER_KEY)) ?? DEFAULT_SERVER;
  await store.put(SERVER_KEY, server);
  const client = await MessengerClient.open({
    server,
    store,
    webSocket: WebSocket as unknown as WebSocketConstructor,
  });
  client.on('error', (error) => process.stderr.write(`warning: ${describe(error)}\n`));
  client.on('identity-changed', ({ userId }) =>
    process.stderr.write(
      `warning: the identity key of user ${userId} changed; compare safety numbers, then trust-identity\n`,
    ),
  );
  try {
    const lines = await command.run(client, invocation.args);
    for (const line of lines) process.stdout.write(`${JSON.stringify(line)}\n`);
  } finally {
    await client.close();
  }
  return 0;
}

function describe(error: unknown): string {
  if (error instanceof CryptoError) return `${error.code} ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`error: ${describe(error).split('\n')[0]}\n`);
    process.exit(1);
  },
);
