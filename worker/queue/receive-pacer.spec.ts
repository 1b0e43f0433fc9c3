import { backlogAgeMs, ReceivePacer } from './receive-pacer';

/** Acquires `count` permits without waiting for any; returns how many were granted at once. */
async function grantedAtOnce(pacer: ReceivePacer, count: number): Promise<number> {
  let granted = 0;
  for (let index = 0; index < count; index++) void pacer.acquire().then(() => granted++);
  await new Promise((resolve) => setImmediate(resolve));
  return granted;
}

describe('ReceivePacer', () => {
  it('starts with one receive per loop, so a backlog is drained at full speed from the start', async () => {
    expect(await grantedAtOnce(new ReceivePacer(8, 10, 0), 10)).toBe(8);
  });

  it('lets one fewer receive wait after each receive that is not full, down to one, and one more after a full one', () => {
    const pacer = new ReceivePacer(4, 10, 0);
    for (const received of [3, 0, 7]) {
      void pacer.acquire();
      pacer.release(received);
    }
    expect(pacer.concurrency).toBe(1);
    void pacer.acquire();
    pacer.release(0);
    expect(pacer.concurrency).toBe(1);
    for (let index = 0; index < 5; index++) {
      void pacer.acquire();
      pacer.release(10);
    }
    expect(pacer.concurrency).toBe(4);
  });

  it('hands a permit to a waiting loop when a receive returns', async () => {
    const pacer = new ReceivePacer(1, 10, 0);
    await pacer.acquire();
    let second = false;
    void pacer.acquire().then(() => (second = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(second).toBe(false);
    pacer.release(10);
    await new Promise((resolve) => setImmediate(resolve));
    expect(second).toBe(true);
  });

  it('waits the gather window before the receive that follows a partial one, not after a full one', async () => {
    const pacer = new ReceivePacer(2, 10, 40);
    await pacer.acquire();
    pacer.release(10);
    let started = Date.now();
    await pacer.acquire();
    expect(Date.now() - started).toBeLessThan(30);
    pacer.release(2);
    started = Date.now();
    await pacer.acquire();
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
  });

  it('receives eagerly after a partial receive of messages that had waited on the queue (a backlog)', async () => {
    const pacer = new ReceivePacer(2, 10, 40);
    await pacer.acquire();
    pacer.release(1, true);
    const started = Date.now();
    await pacer.acquire();
    expect(Date.now() - started).toBeLessThan(30);
    expect(pacer.concurrency).toBe(2);
  });

  it('a failed receive returns its permit without judging the load', () => {
    const pacer = new ReceivePacer(3, 10, 0);
    void pacer.acquire();
    pacer.release();
    expect(pacer.concurrency).toBe(3);
  });

  it('lets every waiting loop through once closed', async () => {
    const pacer = new ReceivePacer(1, 10, 0);
    await pacer.acquire();
    const waiting = [pacer.acquire(), pacer.acquire()];
    pacer.close();
    await expect(Promise.all(waiting)).resolves.toBeDefined();
  });
});

describe('backlogAgeMs', () => {
  it('is three gather windows, so what a window gathered does not read as a backlog; never under 60 ms', () => {
    expect(backlogAgeMs(0)).toBe(60);
    expect(backlogAgeMs(20)).toBe(60);
    expect(backlogAgeMs(100)).toBe(300);
    expect(new ReceivePacer(2, 10, 100).backlogAgeMs).toBe(300);
  });
});
