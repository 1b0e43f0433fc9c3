/** The CLI's commands: each takes the client and its arguments and answers the JSON lines to print. */
import type { MessengerClient, ReceivedMessage } from '../sdk';

export interface Command {
  args: string;
  minArgs: number;
  run(client: MessengerClient, args: string[]): Promise<unknown[]>;
}

/** A message as the CLI prints it: `sender` is the user id, `senderName` the username. */
async function printable(client: MessengerClient, messages: ReceivedMessage[], names: Map<string, string>) {
  const out = [];
  for (const m of messages) {
    if (!names.has(m.sender)) names.set(m.sender, await client.usernameOf(m.sender).catch(() => m.sender));
    out.push({
      conversationId: m.conversationId,
      messageId: m.messageId,
      sender: m.sender,
      senderName: names.get(m.sender),
      senderDeviceId: m.senderDeviceId,
      text: m.text,
      sentAt: m.sentAt,
      ...(m.undecryptable ? { undecryptable: true, error: m.error } : {}),
    });
  }
  return out;
}

function deviceId(text: string): number {
  const id = Number(text);
  if (!Number.isInteger(id) || id < 1) throw new Error(`not a device id: ${text}`);
  return id;
}

export const COMMANDS: Record<string, Command> = {
  register: {
    args: 'USER PASSWORD',
    minArgs: 2,
    run: async (client, [user, password]) => [await client.register(user, password)],
  },
  login: {
    args: 'USER PASSWORD DEVICE_NAME',
    minArgs: 3,
    run: async (client, [user, password, name]) => [await client.login(user, password, name)],
  },
  'approve-device': {
    args: 'DEVICE_ID CODE',
    minArgs: 2,
    run: async (client, [id, code]) => {
      await client.approveDevice(deviceId(id), code);
      return [{ approved: deviceId(id) }];
    },
  },
  devices: {
    args: '',
    minArgs: 0,
    run: async (client) => client.devices(),
  },
  'remove-device': {
    args: 'DEVICE_ID',
    minArgs: 1,
    run: async (client, [id]) => {
      await client.removeDevice(deviceId(id));
      return [{ removed: deviceId(id) }];
    },
  },
  create: {
    args: 'USER...',
    minArgs: 1,
    run: async (client, users) => {
      const ids = await Promise.all(users.map((user) => client.userIdOf(user)));
      return [{ conversationId: await client.createConversation(ids) }];
    },
  },
  'add-member': {
    args: 'CONVERSATION_ID USER',
    minArgs: 2,
    run: async (client, [conversationId, user]) => {
      const userId = await client.userIdOf(user);
      await client.addMember(conversationId, userId);
      return [{ conversationId, added: userId }];
    },
  },
  'remove-member': {
    args: 'CONVERSATION_ID USER',
    minArgs: 2,
    run: async (client, [conversationId, user]) => {
      const userId = await client.userIdOf(user);
      await client.removeMember(conversationId, userId);
      return [{ conversationId, removed: userId }];
    },
  },
  send: {
    args: 'CONVERSATION_ID TEXT',
    minArgs: 2,
    run: async (client, [conversationId, ...text]) => [await client.sendText(conversationId, text.join(' '))],
  },
  sync: {
    args: '',
    minArgs: 0,
    run: async (client) => {
      const wasLinked = client.linked;
      const messages = await client.sync();
      if (!wasLinked && client.linked) process.stderr.write('this device is now linked\n');
      return printable(client, messages, new Map());
    },
  },
  history: {
    args: 'CONVERSATION_ID',
    minArgs: 1,
    run: async (client, [conversationId]) => printable(client, await client.history(conversationId), new Map()),
  },
  'safety-number': {
    args: 'USER',
    minArgs: 1,
    run: async (client, [user]) => {
      const userId = await client.userIdOf(user);
      return [{ userId, safetyNumber: await client.safetyNumber(userId) }];
    },
  },
  'trust-identity': {
    args: 'USER',
    minArgs: 1,
    run: async (client, [user]) => {
      const userId = await client.userIdOf(user);
      await client.trustIdentity(userId);
      return [{ trusted: userId }];
    },
  },
};

export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name} ${command.args}`.trimEnd());
  return ['usage: npm run cli -- --home DIR [--server URL] <command>', ...lines].join('\n');
}
