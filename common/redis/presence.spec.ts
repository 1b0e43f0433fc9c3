import { isOnlineFromHash, onlineDevicesFromHash, presenceField } from './presence';

describe('presence per device', () => {
  const now = 1_000_000;
  const hash = {
    [presenceField('i1', 1)]: String(now + 10),
    [presenceField('i2', 1)]: String(now - 10), // a dead instance's field
    [presenceField('i2', 3)]: String(now + 10),
    [presenceField('i3', 4)]: String(now - 10),
  };

  it('knows which devices have a socket somewhere, ignoring fields whose deadline passed', () => {
    expect([...onlineDevicesFromHash(hash, now)].sort()).toEqual([1, 3]);
    expect(isOnlineFromHash(hash, now)).toBe(true);
    expect(onlineDevicesFromHash({}, now).size).toBe(0);
    expect(onlineDevicesFromHash(undefined, now).size).toBe(0);
  });

  it('counts an instance field from before devices as the user online, vouching for no device', () => {
    const legacy = { i1: String(now + 10) };
    expect(isOnlineFromHash(legacy, now)).toBe(true);
    expect(onlineDevicesFromHash(legacy, now).size).toBe(0);
  });
});
