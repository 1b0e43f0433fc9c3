/**
 * Usage assumptions: what the synthesized stack cannot say (traffic, log volume, data sizes). Every one is
 * stated in the report and can be overridden (`npm run cost -- --set messagesPerUserPerDay=50`). Per-user
 * figures are per concurrent user of the tier (1K / 10K / 100K).
 */
export interface UsageAssumptions {
  /** Messages each user sends per day (average, not peak). */
  messagesPerUserPerDay: number;
  /** HTTP API requests per user per day (sends, history pages, receipts, key fetches), all through CloudFront + WAF. */
  apiRequestsPerUserPerDay: number;
  /** CloudFront data out per user per month, GB (ciphertext, WebSocket frames, static assets). */
  cloudfrontGbPerUserPerMonth: number;
  /** WebSocket connections held per user (ALB active connections). */
  connectionsPerUser: number;
  /** New connections per user per day (reconnects, HTTP keep-alive renewals). */
  newConnectionsPerUserPerDay: number;
  /** Share of recipient devices with no open socket when a message is stored (each registered one gets a push). */
  offlineShare: number;
  /** Devices per account (phone, laptop...): every one receives each message and has its own sender key. */
  devicesPerUser: number;
  /** Members of the average conversation, the sender included. */
  membersPerConversation: number;
  /** Share of devices registered for push (PUT /v1/devices/{id}/push). */
  pushRegisteredShare: number;
  /** Bytes a push costs through NAT to the push gateway (TLS records, headers, the signed wake-up and the answer). */
  pushRequestBytes: number;
  /**
   * Sender-key rotations per device per day (membership or device changes, periodic rotation): each sends one
   * device message per recipient device through the FIFO queue into their mailboxes.
   */
  senderKeyRotationsPerDevicePerDay: number;
  /** Hours until a device acknowledges a device message (it comes online, fetches, acks). */
  mailboxAckDelayHours: number;
  /** Share of device messages never acknowledged (lost or abandoned devices): they stay until expiry. */
  mailboxUnackedShare: number;
  /** Bytes per pending mailbox row in PostgreSQL: ciphertext, columns, tuple header, two index entries. */
  mailboxRowBytes: number;
  /** Average messages per SendMessageBatch from the API, and per receive on the worker. */
  sqsBatchSize: number;
  /** Receive loops per worker process that long-poll (20 s) when idle: messages + notifications. */
  workerPollingLoops: number;
  /** Of those, the loops on the messages queue (FIFO requests are priced higher). */
  workerMessagesPollingLoops: number;
  /** Bytes of application log per API request (pino-http at the default LOG_LEVEL=info). */
  appLogBytesPerRequest: number;
  /** Bytes of WAF log per logged request. */
  wafLogBytesPerRequest: number;
  /** Share of requests WAF blocks or counts, which is all its filtered logging keeps. */
  wafLoggedShare: number;
  /** VPC flow logs (ALL traffic, 60 s aggregation), GB per instance per month. */
  flowLogGbPerInstanceMonth: number;
  /** PostgreSQL logs per database instance per month, GB. */
  rdsLogGbPerInstanceMonth: number;
  /** Enhanced Monitoring (60 s) in CloudWatch Logs per database instance per month, GB. */
  enhancedMonitoringGbPerInstanceMonth: number;
  /** Stored CloudWatch Logs are billed compressed: stored = ingested x this. */
  logCompressionRatio: number;
  /** Outbound internet traffic through NAT per instance per month, GB (OS updates, push provider calls). */
  natGbPerInstanceMonth: number;
  /** Average CPU of burstable (t3) instances: above the baseline, "unlimited" credits are billed. */
  averageCpu: number;
  /** Share of allocated database storage in use (snapshots cover used space). */
  dbUsedShare: number;
  /** Daily change of the database, as a share of its used size (incremental snapshots). */
  dbDailyChangeShare: number;
  /** Bytes crossing AZs per message (API ↔ Redis/SQS, worker ↔ PostgreSQL/Redis, replication), both ways counted once. */
  interAzBytesPerMessage: number;
  /** Compressed access-log bytes per request (ALB and CloudFront logs in S3). */
  accessLogBytesPerRequest: number;
  /** Static assets in S3, GB. */
  staticAssetsGb: number;
}

export const DEFAULT_USAGE: UsageAssumptions = {
  messagesPerUserPerDay: 200,
  apiRequestsPerUserPerDay: 400,
  cloudfrontGbPerUserPerMonth: 0.05,
  connectionsPerUser: 1,
  newConnectionsPerUserPerDay: 20,
  offlineShare: 0.3,
  devicesPerUser: 2,
  membersPerConversation: 2,
  pushRegisteredShare: 0.8,
  pushRequestBytes: 2_000,
  senderKeyRotationsPerDevicePerDay: 1,
  mailboxAckDelayHours: 8,
  mailboxUnackedShare: 0.05,
  mailboxRowBytes: 1_200,
  sqsBatchSize: 3,
  workerPollingLoops: 10,
  workerMessagesPollingLoops: 8,
  appLogBytesPerRequest: 400,
  wafLogBytesPerRequest: 1500,
  wafLoggedShare: 0.02,
  flowLogGbPerInstanceMonth: 2,
  rdsLogGbPerInstanceMonth: 0.5,
  enhancedMonitoringGbPerInstanceMonth: 0.66,
  logCompressionRatio: 0.15,
  natGbPerInstanceMonth: 5,
  averageCpu: 0.3,
  dbUsedShare: 0.5,
  dbDailyChangeShare: 0.02,
  interAzBytesPerMessage: 8_000,
  accessLogBytesPerRequest: 150,
  staticAssetsGb: 1,
};

/** `key=value,key=value` over the defaults; an unknown key or a negative/non-numeric value is an error naming it. */
export function parseUsage(spec: string | undefined, base: UsageAssumptions = DEFAULT_USAGE): UsageAssumptions {
  const result = { ...base };
  for (const part of (spec ?? '')
    .split(',')
    .map((text) => text.trim())
    .filter(Boolean)) {
    const [key, value] = part.split('=');
    if (!(key in base))
      throw new Error(`--set: "${key}" is not a usage assumption (known: ${Object.keys(base).join(', ')})`);
    if (value === undefined || !Number.isFinite(Number(value)) || Number(value) < 0)
      throw new Error(`--set: ${key} needs a number >= 0, got "${value}"`);
    result[key as keyof UsageAssumptions] = Number(value);
  }
  return result;
}

/** Monthly volumes for `users` concurrent users (30.4 days a month). */
export function monthlyVolumes(users: number, usage: UsageAssumptions) {
  const days = 730 / 24;
  const messages = users * usage.messagesPerUserPerDay * days;
  const requests = users * usage.apiRequestsPerUserPerDay * days;
  return {
    messages,
    requests,
    cloudfrontGb: users * usage.cloudfrontGbPerUserPerMonth,
    newConnectionsPerSecond: (users * usage.newConnectionsPerUserPerDay) / 86_400,
    activeConnections: users * usage.connectionsPerUser,
  };
}

/**
 * The device model's volumes per month: pushes (one per registered recipient device without a socket: the other
 * members' devices and the sender's own other devices), device messages (sender-key distribution: one per
 * recipient device per rotation) and the device messages pending in mailboxes at any time (steady state:
 * daily inflow × average stay, the unacknowledged share staying the whole retention).
 */
export function deviceVolumes(users: number, usage: UsageAssumptions, retentionDays: number) {
  const days = 730 / 24;
  const { messages } = monthlyVolumes(users, usage);
  const devices = usage.devicesPerUser;
  const recipientDevices = Math.max(0, (usage.membersPerConversation - 1) * devices + (devices - 1));
  const pushes = messages * recipientDevices * usage.offlineShare * usage.pushRegisteredShare;
  const deviceMessages = users * devices * usage.senderKeyRotationsPerDevicePerDay * recipientDevices * days;
  const stayDays =
    (1 - usage.mailboxUnackedShare) * (usage.mailboxAckDelayHours / 24) + usage.mailboxUnackedShare * retentionDays;
  const pendingRows = (deviceMessages / days) * stayDays;
  return {
    recipientDevices,
    pushes,
    deviceMessages,
    pendingRows,
    mailboxGb: (pendingRows * usage.mailboxRowBytes) / 1e9,
  };
}
