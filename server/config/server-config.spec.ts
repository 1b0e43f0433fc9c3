import 'reflect-metadata';
import { EnvironmentError, validateEnvironment } from '../../common/config/environment';
import { ApiSettings } from './api-settings';
import {
  buildServerConfig,
  DEFAULT_REALTIME_LIMITS,
  DEVICE_MESSAGES_BODY_LIMIT_BYTES,
  parseTrustProxy,
  withRealtimeLimitOverrides,
} from './server-config';

describe('parseTrustProxy', () => {
  it('trusts private ranges by default (the ALB, a local proxy)', () => {
    expect(parseTrustProxy(undefined)).toBe('loopback, linklocal, uniquelocal');
  });

  it('keeps a hop count as a number (CloudFront then the ALB: 2)', () => {
    expect(parseTrustProxy('2')).toBe(2);
  });

  it('passes address ranges through', () => {
    expect(parseTrustProxy('10.0.0.0/8')).toBe('10.0.0.0/8');
  });
});

describe('withRealtimeLimitOverrides', () => {
  it('keeps the documented defaults when nothing is set', () => {
    expect(withRealtimeLimitOverrides(undefined)).toEqual(DEFAULT_REALTIME_LIMITS);
    expect(DEFAULT_REALTIME_LIMITS).toMatchObject({ maxSocketsPerUser: 10, maxSocketsPerProcess: 20_000 });
  });

  it('replaces only the named limits', () => {
    expect(withRealtimeLimitOverrides('maxSocketsPerUser=3, maxBufferedBytes=65536')).toEqual({
      ...DEFAULT_REALTIME_LIMITS,
      maxSocketsPerUser: 3,
      maxBufferedBytes: 65_536,
    });
  });

  it('names REALTIME_LIMITS and every bad entry', () => {
    expect(() => withRealtimeLimitOverrides('maxSocketsPerUser=x,nope=1,heartbeatMs=0')).toThrow(
      /REALTIME_LIMITS: "maxSocketsPerUser=x" is not name=value .*; "nope=1" is not .*; "heartbeatMs=0" needs a value of at least 1/,
    );
  });
});

describe('delivery receipts and the device-messages body limit', () => {
  const base = {
    DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/cyphr',
    REDIS_URL: 'redis://127.0.0.1:6379',
    AWS_REGION: 'eu-central-1',
    SQS_MESSAGES_QUEUE_URL: 'https://sqs.eu-central-1.amazonaws.com/1/cyphr-messages.fifo',
    SQS_NOTIFICATIONS_QUEUE_URL: 'https://sqs.eu-central-1.amazonaws.com/1/cyphr-notifications',
    JWT_SECRET: 'x'.repeat(32),
  };
  const config = (env: Record<string, string>) =>
    buildServerConfig(validateEnvironment(ApiSettings, { ...base, ...env }), {
      jwtKeys: {} as never,
    });

  it('sends receipts unless DELIVERY_RECEIPTS=off, and refuses anything but on or off', () => {
    expect(config({}).deliveryReceipts).toEqual({ enabled: true, windowMs: 250 });
    expect(config({ DELIVERY_RECEIPTS: 'off' }).deliveryReceipts.enabled).toBe(false);
    expect(config({ DELIVERY_RECEIPTS: '' }).deliveryReceipts.enabled).toBe(true);
    try {
      validateEnvironment(ApiSettings, { ...base, DELIVERY_RECEIPTS: 'sometimes' });
      throw new Error('accepted');
    } catch (error) {
      expect((error as EnvironmentError).problems).toContain('DELIVERY_RECEIPTS must be on or off');
    }
  });

  it('lets POST /v1/devices/messages carry 4 MiB, every other route 128 KiB', () => {
    expect(config({})).toMatchObject({ bodyLimitBytes: 128 * 1024, deviceMessagesBodyLimitBytes: 4 * 1024 * 1024 });
    expect(DEVICE_MESSAGES_BODY_LIMIT_BYTES).toBe(4 * 1024 * 1024);
  });
});
