import { MAX_ACK_IDS, RealtimeCloseCodes } from './realtime-events';

/**
 * The WebSocket protocol at /v1/ws as an AsyncAPI 3 document, served at /v1/asyncapi.json. Its payload schemas
 * are JSON Schema (draft 7 subset) describing the frames in realtime-events.ts and realtime.gateway.ts;
 * server/test/realtime-contract.test.ts validates every frame a live gateway sends (and the ones a client may
 * send) against them, so a new event or field without a schema fails there.
 */

const timestamp = { type: 'string', format: 'date-time' } as const;
const uuid = { type: 'string', format: 'uuid' } as const;
const deviceId = { type: 'integer', minimum: 1, description: 'A device’s id within its account' } as const;

/** A frame: an object with a fixed `type` and exactly these fields. */
function frame(type: string, description: string, properties: Record<string, object>, optional: string[] = []) {
  return {
    type: 'object',
    description,
    additionalProperties: false,
    required: ['type', ...Object.keys(properties).filter((name) => !optional.includes(name))],
    properties: { type: { const: type }, ...properties },
  };
}

const schemas = {
  MessageView: {
    type: 'object',
    description: 'A stored message, as history pages carry it too.',
    additionalProperties: false,
    required: [
      'id',
      'seq',
      'conversationId',
      'senderId',
      'senderDeviceId',
      'clientMessageId',
      'ciphertext',
      'sentAt',
      'storedAt',
    ],
    properties: {
      id: { ...uuid, description: 'Derived from (sender, conversation, clientMessageId): a retried send keeps it.' },
      seq: { type: 'string', pattern: '^[0-9]+$', description: 'Storage order within the conversation (a bigint).' },
      conversationId: uuid,
      senderId: uuid,
      senderDeviceId: { ...deviceId, description: 'The sender’s device that encrypted and sent it.' },
      clientMessageId: uuid,
      ciphertext: { type: 'string', description: 'Base64, as sent; the server never reads it.' },
      sentAt: timestamp,
      storedAt: timestamp,
    },
  },
  Ready: frame('ready', 'First frame on every socket: it is authenticated and subscribed.', {
    userId: uuid,
    deviceId,
    instanceId: { type: 'string' },
    heartbeatMs: { type: 'integer', minimum: 1, description: 'Ping frame interval; answer pings with pongs.' },
    expiresAt: { ...timestamp, description: 'The socket closes with 4002 then, unless an `auth` frame renews it.' },
    realtime: {
      enum: ['live', 'degraded'],
      description: '`degraded`: events cannot be relayed right now (Redis down); catch up from history.',
    },
  }),
  Pong: frame('pong', 'Answer to a `ping` frame.', { at: timestamp }),
  AuthRenewed: frame('auth', 'Answer to an `auth` frame: the socket now lives until `expiresAt`.', {
    expiresAt: timestamp,
  }),
  Error: frame(
    'error',
    'A frame was refused (unknown type, bad token, one `auth` at a time, a malformed `ack`). The socket stays open.',
    {
      message: { type: 'string' },
    },
  ),
  Message: frame('message', 'A message stored in one of your conversations (yours included: your other devices).', {
    message: { $ref: '#/components/schemas/MessageView' },
  }),
  Receipt: frame('receipt', 'A member read a conversation up to a message.', {
    conversationId: uuid,
    userId: uuid,
    upToMessageId: uuid,
    readAt: timestamp,
  }),
  Presence: frame(
    'presence',
    'Someone you share a conversation with came online anywhere or went offline everywhere.',
    { userId: uuid, online: { type: 'boolean' }, at: timestamp },
  ),
  IdentityChanged: frame(
    'identity-changed',
    "A user's identity key was replaced: show a safety-number change and re-verify before sending more.",
    { userId: uuid, identityKey: { type: 'string', description: 'Base64 public key' }, changedAt: timestamp },
  ),
  DeviceAdded: frame('device-added', 'To your other devices: a login added a device to your account.', {
    userId: uuid,
    deviceId,
    name: { type: 'string' },
    createdAt: timestamp,
  }),
  DevicesChanged: frame(
    'devices-changed',
    'A device of this user (you, or someone you share a conversation with) was added or removed: fetch their key ' +
      'bundles again and rotate the sender keys of conversations with them.',
    { userId: uuid },
  ),
  MembersChanged: frame(
    'members-changed',
    'Members were added or removed (to the members before and after: a removed member hears it too). Rotate your ' +
      'sender key for the conversation before sending again.',
    {
      conversationId: uuid,
      memberIds: { type: 'array', items: uuid, description: 'The members now' },
      added: { type: 'array', items: uuid },
      removed: { type: 'array', items: uuid },
      by: { ...uuid, description: 'Who made the change' },
      membershipVersion: { type: 'string', pattern: '^[0-9]+$', description: 'Goes up with every change (a bigint)' },
    },
  ),
  PreKeysLow: frame(
    'prekeys-low',
    'To one device: a fetch of its bundle left it fewer than 10 one-time prekeys; upload more with PUT /v1/keys.',
    { remaining: { type: 'integer', minimum: 0 } },
  ),
  DeviceMessage: frame(
    'device-message',
    'To this device only: an item of its mailbox (sender keys, key changes), pairwise-encrypted by the sending ' +
      'device. It stays pending (GET /v1/devices/messages) until this device acknowledges it with `ack`.',
    {
      id: { ...uuid, description: 'Acknowledge by this id.' },
      senderId: uuid,
      senderDeviceId: deviceId,
      ciphertext: { type: 'string', description: 'Base64, as sent; the server never reads it.' },
      sentAt: timestamp,
    },
  ),
  Delivered: frame(
    'delivered',
    'To the sender’s devices: a device acknowledged or fetched one of your conversation messages. Batched, best ' +
      'effort, never for a device’s own messages; the operator may turn receipts off.',
    {
      conversationId: uuid,
      messageId: uuid,
      userId: { ...uuid, description: 'The receiving device’s account' },
      deviceId,
    },
  ),
  Ping: frame('ping', 'Answered with `pong`. Does not keep the socket alive: only WebSocket pong frames do.', {}),
  Auth: frame('auth', 'A fresh access token of the same user and session; answered with `auth` or `error`.', {
    token: { type: 'string' },
  }),
  Ack: frame(
    'ack',
    'This device has these: mailbox items (`device-message` ids) are deleted from its mailbox, and the senders of ' +
      'conversation messages among them get `delivered`. No answer unless refused (`error`). Write it compactly: ' +
      'the largest frame the server takes is sized for an ack of the most ids.',
    { ids: { type: 'array', items: uuid, minItems: 1, maxItems: MAX_ACK_IDS } },
  ),
} as const;

type SchemaName = keyof typeof schemas;

/** Frames the server sends, by AsyncAPI message name. */
export const SERVER_FRAMES = {
  ready: 'Ready',
  pong: 'Pong',
  authRenewed: 'AuthRenewed',
  error: 'Error',
  message: 'Message',
  receipt: 'Receipt',
  presence: 'Presence',
  identityChanged: 'IdentityChanged',
  deviceAdded: 'DeviceAdded',
  devicesChanged: 'DevicesChanged',
  membersChanged: 'MembersChanged',
  preKeysLow: 'PreKeysLow',
  deviceMessage: 'DeviceMessage',
  delivered: 'Delivered',
} as const satisfies Record<string, SchemaName>;

/** Frames a client may send. */
export const CLIENT_FRAMES = { ping: 'Ping', auth: 'Auth', ack: 'Ack' } as const satisfies Record<string, SchemaName>;

function messages(frames: Record<string, SchemaName>) {
  return Object.fromEntries(
    Object.entries(frames).map(([name, schema]) => [
      name,
      {
        name,
        title: schema,
        summary: schemas[schema].description,
        contentType: 'application/json',
        payload: { $ref: `#/components/schemas/${schema}` },
      },
    ]),
  );
}

const refs = (frames: Record<string, SchemaName>) =>
  Object.keys(frames).map((name) => ({ $ref: `#/channels/socket/messages/${name}` }));

const closeCodes = [
  `${RealtimeCloseCodes.restarting}: the instance is shutting down; reconnect (you reach another instance).`,
  `${RealtimeCloseCodes.sessionRevoked}: the session was revoked (logout, password change, session deleted); log in again.`,
  `${RealtimeCloseCodes.tokenExpired}: the access token expired and no \`auth\` frame renewed it; reconnect with a fresh token.`,
];

/** The upgrade carries the access token (see info.description); every frame on the socket is authenticated. */
const security = [{ $ref: '#/components/securitySchemes/bearer' }];

export const ASYNCAPI_DOCUMENT = {
  asyncapi: '3.0.0',
  info: {
    title: 'Cyphr realtime protocol',
    version: '1',
    description: [
      'One WebSocket per device at `/v1/ws` on the API host, JSON text frames both ways.',
      'Authenticate the upgrade with `Authorization: Bearer <access token>`, or (browsers) the subprotocols',
      '`cyphr, bearer.<access token>`; a token in the URL is refused with 400. A refused upgrade answers the HTTP',
      'error body `{statusCode, error, message}` (401, 429 with Retry-After, 503).',
      'The server pings every `heartbeatMs` (from `ready`); a socket that missed the previous pong is dropped.',
      '',
      'Close codes:',
      ...closeCodes.map((line) => `- ${line}`),
    ].join('\n'),
    license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
  },
  defaultContentType: 'application/json',
  channels: {
    socket: {
      address: '/v1/ws',
      title: 'The WebSocket of one device',
      messages: { ...messages(SERVER_FRAMES), ...messages(CLIENT_FRAMES) },
    },
  },
  operations: {
    sendEvents: {
      action: 'send',
      title: 'Frames the server sends',
      channel: { $ref: '#/channels/socket' },
      security,
      messages: refs(SERVER_FRAMES),
    },
    receiveClientFrames: {
      action: 'receive',
      title: 'Frames a client may send',
      channel: { $ref: '#/channels/socket' },
      security,
      messages: refs(CLIENT_FRAMES),
    },
  },
  components: {
    schemas,
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'The access token on the upgrade: `Authorization: Bearer`, or the `bearer.<token>` subprotocol.',
      },
    },
  },
};
