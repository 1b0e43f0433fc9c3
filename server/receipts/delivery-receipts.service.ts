import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import type { MessageView, RealtimeEvent } from '../../common/contracts/realtime-events';
import { ServerConfig } from '../config/server-config';
import type { AuthenticatedUser } from '../http/http-types';
import { MetricsService } from '../metrics/metrics.service';
import { RealtimePublisher } from '../realtime/realtime-publisher.service';
import { AckedMessage, Delivery, ReceiptsRepository } from './receipts.repository';

/**
 * Most receipts (and acknowledged ids still to look up) one instance holds for the next round. Past it new ones
 * are dropped and counted: receipts are a courtesy, and a slow Redis or primary must not grow the heap.
 */
export const MAX_WAITING_RECEIPTS = 50_000;
/**
 * Receipts this instance remembers having sent (oldest forgotten first), so a device paging back and forth over
 * the same history does not repeat them: a few MiB at most. Another instance, or a long while later, may repeat.
 */
export const REMEMBERED_RECEIPTS = 20_000;

/**
 * `delivered` events: when a device acknowledges conversation messages (the `ack` frame or POST
 * /v1/devices/messages/ack, for ids that are not in its mailbox) or fetches them in a history page, the senders'
 * devices hear which device got which message.
 *
 * Nothing happens on the request path but recording: each instance gathers receipts for a short window
 * (ServerConfig.deliveryReceipts.windowMs), looks up the acknowledged ids in one statement, and publishes the
 * whole round in one pipelined burst. A (message, receiving device) pair is sent once per round and, as long as
 * this instance remembers it (REMEMBERED_RECEIPTS), once at all. Never sent for a device's own messages. Best
 * effort: what fails is logged and counted, never retried. DELIVERY_RECEIPTS=off turns all of it off.
 */
@Injectable()
export class DeliveryReceipts implements BeforeApplicationShutdown {
  private readonly logger = new Logger(DeliveryReceipts.name);
  private deliveries = new Map<string, Delivery>();
  private readonly sent = new Set<string>();
  private acks: AckedMessage[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly rounds = new Set<Promise<void>>();

  constructor(
    @Inject(ServerConfig) private readonly config: ServerConfig,
    private readonly receipts: ReceiptsRepository,
    private readonly realtime: RealtimePublisher,
    private readonly metrics: MetricsService,
  ) {}

  get enabled(): boolean {
    return this.config.deliveryReceipts.enabled;
  }

  /** The device fetched these messages (a history page, either direction). */
  fetched(reader: AuthenticatedUser, messages: MessageView[]): void {
    if (!this.enabled || messages.length === 0) return;
    for (const message of messages)
      this.add({
        conversationId: message.conversationId,
        messageId: message.id,
        senderId: message.senderId,
        senderDeviceId: message.senderDeviceId,
        readerId: reader.id,
        readerDeviceId: reader.deviceId,
      });
    this.schedule();
  }

  /** The device acknowledged these ids, and they were not in its mailbox: perhaps conversation messages. */
  acknowledged(reader: AuthenticatedUser, ids: string[]): void {
    if (!this.enabled || ids.length === 0) return;
    for (const id of ids) {
      if (this.waiting >= MAX_WAITING_RECEIPTS) {
        this.metrics.deliveryReceipts.inc({ outcome: 'dropped' });
        continue;
      }
      this.acks.push({ readerId: reader.id, readerDeviceId: reader.deviceId, messageId: id.toLowerCase() });
    }
    this.schedule();
  }

  /** Sends what is waiting now (shutdown; tests). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const round = this.round();
    this.rounds.add(round);
    await round.finally(() => this.rounds.delete(round));
    await Promise.all([...this.rounds]);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.flush();
  }

  private get waiting(): number {
    return this.deliveries.size + this.acks.length;
  }

  private add(delivery: Delivery): void {
    if (delivery.senderId === delivery.readerId && delivery.senderDeviceId === delivery.readerDeviceId) return;
    const key = `${delivery.messageId}|${delivery.readerId}|${delivery.readerDeviceId}`;
    if (this.sent.has(key)) return;
    if (this.waiting >= MAX_WAITING_RECEIPTS) return void this.metrics.deliveryReceipts.inc({ outcome: 'dropped' });
    this.deliveries.set(key, delivery);
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(
      () =>
        void this.flush().catch((error: Error) => this.logger.warn(`delivery receipts round failed: ${error.message}`)),
      this.config.deliveryReceipts.windowMs,
    );
    this.timer.unref();
  }

  private async round(): Promise<void> {
    const acks = this.acks;
    this.acks = [];
    if (acks.length > 0) {
      try {
        for (const delivery of await this.receipts.visibleMessages(acks)) this.add(delivery);
      } catch (error) {
        this.metrics.deliveryReceipts.inc({ outcome: 'failed' }, acks.length);
        this.logger.warn(`delivery receipts: acknowledged ids not looked up: ${(error as Error).message}`);
      }
    }
    const round = this.deliveries;
    this.deliveries = new Map();
    if (round.size === 0) return;
    const deliveries = [...round.values()];
    const published = await this.realtime.publishEach(
      deliveries.map((delivery) => ({ userId: delivery.senderId, event: deliveredEvent(delivery) })),
    );
    this.metrics.deliveryReceipts.inc({ outcome: 'published' }, published);
    if (published < deliveries.length)
      return void this.metrics.deliveryReceipts.inc({ outcome: 'failed' }, deliveries.length - published);
    for (const key of round.keys()) this.remember(key);
  }

  private remember(key: string): void {
    this.sent.add(key);
    if (this.sent.size > REMEMBERED_RECEIPTS) this.sent.delete(this.sent.values().next().value as string);
  }
}

const deliveredEvent = (delivery: Delivery): RealtimeEvent => ({
  type: 'delivered',
  conversationId: delivery.conversationId,
  messageId: delivery.messageId,
  userId: delivery.readerId,
  deviceId: delivery.readerDeviceId,
});
