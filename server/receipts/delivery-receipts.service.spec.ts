import { randomUUID } from 'node:crypto';
import type { MessageView, RealtimeEvent } from '../../common/contracts/realtime-events';
import type { ServerConfig } from '../config/server-config';
import { MetricsService } from '../metrics/metrics.service';
import type { RealtimePublisher } from '../realtime/realtime-publisher.service';
import { DeliveryReceipts } from './delivery-receipts.service';
import type { AckedMessage, Delivery, ReceiptsRepository } from './receipts.repository';

const alice = { id: randomUUID(), deviceId: 1, sessionId: randomUUID() };
const bob = { id: randomUUID(), deviceId: 2, sessionId: randomUUID() };
const conversationId = randomUUID();

const message = (sender: { id: string; deviceId: number }): MessageView => ({
  id: randomUUID(),
  seq: '1',
  conversationId,
  senderId: sender.id,
  senderDeviceId: sender.deviceId,
  clientMessageId: randomUUID(),
  ciphertext: 'AAAA',
  sentAt: '',
  storedAt: '',
});

function setup(enabled = true, lookup: (acks: AckedMessage[]) => Delivery[] = () => []) {
  const rounds: Array<Array<{ userId: string; event: RealtimeEvent }>> = [];
  const lookups: AckedMessage[][] = [];
  const receipts = new DeliveryReceipts(
    { deliveryReceipts: { enabled, windowMs: 60_000 } } as ServerConfig,
    {
      visibleMessages: async (acks: AckedMessage[]) => {
        lookups.push(acks);
        return lookup(acks);
      },
    } as unknown as ReceiptsRepository,
    {
      publishEach: async (deliveries: Array<{ userId: string; event: RealtimeEvent }>) => {
        rounds.push(deliveries);
        return deliveries.length;
      },
    } as unknown as RealtimePublisher,
    new MetricsService(),
  );
  return { receipts, rounds, lookups };
}

describe('DeliveryReceipts', () => {
  it('gathers a history page into one round to the senders, once per (message, device), never for the reader’s own', async () => {
    const { receipts, rounds } = setup();
    const [fromAlice, own] = [message(alice), message(bob)];
    receipts.fetched(bob, [fromAlice, own]);
    receipts.fetched(bob, [fromAlice]);
    expect(rounds).toEqual([]); // nothing on the request path
    await receipts.flush();
    expect(rounds).toEqual([
      [
        {
          userId: alice.id,
          event: { type: 'delivered', conversationId, messageId: fromAlice.id, userId: bob.id, deviceId: bob.deviceId },
        },
      ],
    ]);
  });

  it('does not repeat a receipt it has sent when the device fetches the same page again', async () => {
    const { receipts, rounds } = setup();
    const page = [message(alice)];
    receipts.fetched(bob, page);
    await receipts.flush();
    receipts.fetched(bob, page);
    receipts.fetched({ ...bob, deviceId: 3 }, page);
    await receipts.flush();
    expect(rounds.map((round) => round.length)).toEqual([1, 1]);
  });

  it('sends a receipt for the same account’s other device: only the sending device’s own messages are skipped', async () => {
    const { receipts, rounds } = setup();
    receipts.fetched({ ...alice, deviceId: 3 }, [message(alice)]);
    await receipts.flush();
    expect(rounds[0]).toHaveLength(1);
  });

  it('looks up acknowledged ids in one statement per round and publishes what the reader may see', async () => {
    const messageId = randomUUID();
    const { receipts, rounds, lookups } = setup(true, (acks) =>
      acks
        .filter((ack) => ack.messageId === messageId)
        .map((ack) => ({
          conversationId,
          messageId,
          senderId: alice.id,
          senderDeviceId: alice.deviceId,
          readerId: ack.readerId,
          readerDeviceId: ack.readerDeviceId,
        })),
    );
    receipts.acknowledged(bob, [messageId.toUpperCase(), randomUUID()]);
    receipts.acknowledged({ ...bob, deviceId: 3 }, [messageId]);
    await receipts.flush();
    expect(lookups).toHaveLength(1);
    expect(lookups[0]).toHaveLength(3);
    expect(rounds[0].map(({ userId, event }) => [userId, (event as { deviceId: number }).deviceId])).toEqual([
      [alice.id, 2],
      [alice.id, 3],
    ]);
  });

  it('does nothing at all when receipts are off', async () => {
    const { receipts, rounds, lookups } = setup(false);
    receipts.fetched(bob, [message(alice)]);
    receipts.acknowledged(bob, [randomUUID()]);
    await receipts.flush();
    expect(lookups).toEqual([]);
    expect(rounds).toEqual([]);
  });
});
