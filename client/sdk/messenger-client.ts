import type { ClientOptions, DeviceSummary, ReceivedMessage } from './types';

type Listener = (value: never) => void;

/** Skeleton: the full surface, filled in next. */
export class MessengerClient {
  private readonly listeners = new Map<string, Listener[]>();

  private constructor(readonly options: ClientOptions) {}

  static async open(options: ClientOptions): Promise<MessengerClient> {
    return new MessengerClient(options);
  }

  get linked(): boolean {
    return false;
  }

  async register(
    username: string,
    password: string,
    deviceName?: string,
  ): Promise<{ userId: string; deviceId: number }> {
    throw new Error(`not implemented ${username}${password}${deviceName}`);
  }

  async login(
    username: string,
    password: string,
    deviceName: string,
  ): Promise<{ userId: string; deviceId: number; linkCode: string }> {
    throw new Error(`not implemented ${username}${password}${deviceName}`);
  }

  async approveDevice(deviceId: number, linkCode: string): Promise<void> {
    throw new Error(`not implemented ${deviceId}${linkCode}`);
  }

  async devices(): Promise<DeviceSummary[]> {
    throw new Error('not implemented');
  }

  async removeDevice(deviceId: number): Promise<void> {
    throw new Error(`not implemented ${deviceId}`);
  }

  async userIdOf(username: string): Promise<string> {
    throw new Error(`not implemented ${username}`);
  }

  async createConversation(memberUserIds: string[], title?: string): Promise<string> {
    throw new Error(`not implemented ${memberUserIds}${title}`);
  }

  async addMember(conversationId: string, userId: string): Promise<void> {
    throw new Error(`not implemented ${conversationId}${userId}`);
  }

  async removeMember(conversationId: string, userId: string): Promise<void> {
    throw new Error(`not implemented ${conversationId}${userId}`);
  }

  async sendText(conversationId: string, text: string): Promise<{ messageId: string }> {
    throw new Error(`not implemented ${conversationId}${text}`);
  }

  async connect(): Promise<void> {
    throw new Error('not implemented');
  }

  on(event: 'message', listener: (message: ReceivedMessage) => void): void;
  on(event: 'identity-changed', listener: (change: { userId: string }) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  on(event: string, listener: Listener): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
  }

  async sync(): Promise<ReceivedMessage[]> {
    throw new Error('not implemented');
  }

  async history(conversationId: string): Promise<ReceivedMessage[]> {
    throw new Error(`not implemented ${conversationId}`);
  }

  async safetyNumber(userId: string): Promise<string> {
    throw new Error(`not implemented ${userId}`);
  }

  async trustIdentity(userId: string): Promise<void> {
    throw new Error(`not implemented ${userId}`);
  }

  async close(): Promise<void> {}
}
