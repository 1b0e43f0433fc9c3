// The relations the shared timeouts exist for, checked on the constants both sides import.
import { PRESENCE_HEARTBEAT_MS } from '../redis/presence';
import { ALB_IDLE_TIMEOUT_SECONDS, API_KEEP_ALIVE_TIMEOUT_MS } from './timeouts';

describe('shared timeouts', () => {
  it('the API keeps idle connections open longer than the ALB does', () => {
    expect(API_KEEP_ALIVE_TIMEOUT_MS).toBeGreaterThan(ALB_IDLE_TIMEOUT_SECONDS * 1000);
  });

  it('the WebSocket gateway pings every socket well within the ALB idle timeout', () => {
    expect(PRESENCE_HEARTBEAT_MS).toBeLessThan(ALB_IDLE_TIMEOUT_SECONDS * 1000);
  });
});
