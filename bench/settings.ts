/** How big and how long each phase is. `full` is the measurement (~6-8 min), `quick` a check (~2 min), `tiny` the test. */
export type BenchMode = 'full' | 'quick' | 'tiny';

export interface BenchSettings {
  mode: BenchMode;
  /** Users registered through the API; pairs of them share a conversation. */
  users: number;
  /** Duration of every fixed-duration load (fixed rate and saturation). */
  phaseSeconds: number;
  warmupSeconds: number;
  sendFixedRate: number;
  /** autocannon connections at saturation. */
  sendConnections: number;
  /** Offered messages per second for the end-to-end runs. */
  e2eRates: number[];
  connections: { target: number; perUser: number; holdSeconds: number; openParallel: number };
  drainMessages: number;
  /**
   * The moderate load most deployments run: two API processes and one worker at LOG_LEVEL=info, `senders` open-loop
   * senders (half per API process) at `ratePerSender` msg/s each over `conversations` one-to-one conversations
   * whose recipients are offline with a push token, for `seconds`, after `warmupSeconds` of the same load: at this
   * rate a process needs ~20 s before V8 has compiled its hot paths, whose compiling is CPU a long-running process
   * no longer pays.
   */
  moderate: {
    conversations: number;
    senders: number;
    ratePerSender: number;
    seconds: number;
    warmupSeconds: number;
    /** Windows of `seconds` measured one after another at the same load; the report gives their medians. */
    windows: number;
  };
  /** Group conversations made through the API for the send path's second shape. */
  groups: { conversations: number; members: number };
  history: { conversations: number; messagesPerConversation: number; fixedRate: number; connections: number };
  limits: { sqsSeconds: number; sqsMessages: number; dbRows: number; redisSeconds: number };
}

export const SETTINGS: Record<BenchMode, BenchSettings> = {
  full: {
    mode: 'full',
    users: 200,
    phaseSeconds: 20,
    warmupSeconds: 3,
    sendFixedRate: 500,
    sendConnections: 64,
    e2eRates: [500, 1000],
    // 45 s: two heartbeat rounds (20 s), the second of which drops any socket that missed the first pong.
    connections: { target: 10_000, perUser: 50, holdSeconds: 45, openParallel: 100 },
    // 40,000: at ~4,000/s a 10,000-message drain lasted 3 s, most of it V8 compiling the worker's hot paths.
    drainMessages: 40_000,
    moderate: { conversations: 20, senders: 32, ratePerSender: 10, seconds: 20, warmupSeconds: 20, windows: 3 },
    groups: { conversations: 20, members: 10 },
    history: { conversations: 20, messagesPerConversation: 500, fixedRate: 500, connections: 32 },
    limits: { sqsSeconds: 10, sqsMessages: 10_000, dbRows: 20_000, redisSeconds: 5 },
  },
  quick: {
    mode: 'quick',
    users: 100,
    phaseSeconds: 6,
    warmupSeconds: 2,
    sendFixedRate: 500,
    sendConnections: 64,
    e2eRates: [500, 1000],
    connections: { target: 2_000, perUser: 20, holdSeconds: 5, openParallel: 100 },
    drainMessages: 3_000,
    moderate: { conversations: 20, senders: 32, ratePerSender: 10, seconds: 6, warmupSeconds: 6, windows: 1 },
    groups: { conversations: 10, members: 10 },
    history: { conversations: 10, messagesPerConversation: 300, fixedRate: 500, connections: 32 },
    limits: { sqsSeconds: 3, sqsMessages: 3_000, dbRows: 5_000, redisSeconds: 2 },
  },
  tiny: {
    mode: 'tiny',
    users: 10,
    phaseSeconds: 1,
    warmupSeconds: 0.3,
    sendFixedRate: 50,
    sendConnections: 4,
    e2eRates: [50, 100],
    connections: { target: 40, perUser: 4, holdSeconds: 1, openParallel: 20 },
    drainMessages: 200,
    moderate: { conversations: 4, senders: 4, ratePerSender: 10, seconds: 2, warmupSeconds: 0.3, windows: 1 },
    groups: { conversations: 2, members: 10 },
    history: { conversations: 2, messagesPerConversation: 60, fixedRate: 50, connections: 4 },
    limits: { sqsSeconds: 0.5, sqsMessages: 200, dbRows: 200, redisSeconds: 0.5 },
  },
};
