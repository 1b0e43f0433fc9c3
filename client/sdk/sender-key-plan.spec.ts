import { holderKey, planDistribution } from './sender-key-plan';

const a1 = { userId: 'a', deviceId: 1 };
const a2 = { userId: 'a', deviceId: 2 };
const b1 = { userId: 'b', deviceId: 1 };
const b2 = { userId: 'b', deviceId: 2 };

describe('planDistribution', () => {
  it('starts a key and sends it to everyone when there is none', () => {
    expect(planDistribution(undefined, [a2, b1])).toEqual({ rotate: true, sendTo: [a2, b1] });
  });

  it('sends nothing when every target holds the current key', () => {
    expect(planDistribution([holderKey(a2), holderKey(b1)], [b1, a2])).toEqual({ rotate: false, sendTo: [] });
  });

  it('gives an added device (or member) the current key only, without rotating', () => {
    expect(planDistribution([holderKey(a2), holderKey(b1)], [a2, b1, b2])).toEqual({ rotate: false, sendTo: [b2] });
  });

  it('rotates to the remaining devices when a holder was removed (member or device)', () => {
    expect(planDistribution([holderKey(a2), holderKey(b1), holderKey(b2)], [a2, b1])).toEqual({
      rotate: true,
      sendTo: [a2, b1],
    });
    expect(planDistribution([holderKey(b1)], [])).toEqual({ rotate: true, sendTo: [] });
  });

  it('tells devices apart by user and device id', () => {
    expect(holderKey(a1)).not.toBe(holderKey(b1));
    expect(planDistribution([holderKey(a1)], [b1])).toEqual({ rotate: true, sendTo: [b1] });
  });
});
