import { describe, expect, it } from 'vitest';
import { BindError, ErrorCode } from '../../service/src/errors.js';
import { backoffDelay, defaultBackoff, ReconnectBackoff } from '../../service/src/smpp/bind.js';

const lost = new BindError(ErrorCode.SMPP_CONNECT, 'socket closed');
const auth = new BindError(ErrorCode.SMPP_BIND_AUTH, 'bind_transmitter refused: ESME_RINVPASWD', 0x0e);
const refused = new BindError(ErrorCode.SMPP_BIND_REFUSED, 'bind_transmitter refused: ESME_RBINDFAIL', 0x0d);

/** The extremes of the jitter: Math.random() is in [0, 1). */
const lowest = () => 0;
const highest = () => 0.999_999;

describe('backoffDelay', () => {
  it('doubles with every failure in a row, each wait at least as long as the previous one could be', () => {
    const attempts = [0, 1, 2, 3, 4, 5];
    const low = attempts.map((a) => backoffDelay(defaultBackoff, a, lost, lowest));
    const high = attempts.map((a) => backoffDelay(defaultBackoff, a, lost, highest));

    expect(low).toEqual([250, 500, 1000, 2000, 4000, 8000]);
    expect(high).toEqual([500, 1000, 2000, 4000, 8000, 16_000]);
    for (let a = 1; a < attempts.length; a++) expect(low[a]).toBeGreaterThanOrEqual(high[a - 1] ?? Infinity);
  });

  it('stops growing at maxMs', () => {
    expect(backoffDelay(defaultBackoff, 12, lost, highest)).toBe(30_000);
    expect(backoffDelay(defaultBackoff, 1000, lost, lowest)).toBe(15_000);
  });

  it('never waits less than the authentication floor: its jitter goes above it', () => {
    expect(backoffDelay(defaultBackoff, 0, auth, lowest)).toBe(30_000);
    expect(backoffDelay(defaultBackoff, 0, auth, highest)).toBe(45_000);
  });

  it('doubles the authentication floor with each authentication failure in a row, up to 5 minutes', () => {
    const floors = [1, 2, 3, 4, 5, 6, 10].map((n) => backoffDelay(defaultBackoff, 0, auth, lowest, n));

    expect(floors).toEqual([30_000, 60_000, 120_000, 240_000, 300_000, 300_000, 300_000]);
  });

  it('never waits less than the refusal floor after ESME_RBINDFAIL', () => {
    expect(backoffDelay(defaultBackoff, 0, refused, lowest)).toBe(5000);
    expect(backoffDelay(defaultBackoff, 0, refused, highest)).toBe(7500);
    // Once the doubling passes the floor, the doubling decides.
    expect(backoffDelay(defaultBackoff, 5, refused, lowest)).toBe(8000);
  });
});

describe('ReconnectBackoff', () => {
  it('keeps counting when a link is lost soon after its bind: an SMSC that accepts and drops is not hit every 500 ms', () => {
    const backoff = new ReconnectBackoff(defaultBackoff, lowest);
    const waits: number[] = [];
    let now = 0;
    for (let i = 0; i < 5; i++) {
      backoff.bound(now);
      now += 200;
      const wait = backoff.failed(lost, now);
      waits.push(wait);
      now += wait;
    }

    expect(waits).toEqual([250, 500, 1000, 2000, 4000]);
  });

  it('starts again from the shortest wait once a link stayed up stableAfterMs', () => {
    const backoff = new ReconnectBackoff(defaultBackoff, lowest);
    backoff.failed(lost, 0);
    backoff.failed(lost, 1000);
    backoff.bound(5000);

    expect(backoff.failed(lost, 5000 + 59_999)).toBe(1000);
    backoff.bound(100_000);
    expect(backoff.failed(lost, 160_000)).toBe(250);
  });

  it('takes stableAfterMs from the policy', () => {
    const backoff = new ReconnectBackoff({ ...defaultBackoff, stableAfterMs: 1000 }, lowest);
    backoff.failed(lost, 0);
    backoff.bound(10);

    expect(backoff.failed(lost, 1010)).toBe(250);
  });

  it('counts failed bind attempts in a row as well as lost links', () => {
    const backoff = new ReconnectBackoff(defaultBackoff, lowest);

    expect([0, 1, 2].map((t) => backoff.failed(lost, t))).toEqual([250, 500, 1000]);
    expect(backoff.failures).toBe(3);
  });

  it('grows the authentication floor with each authentication failure and forgets it at the first successful bind', () => {
    const backoff = new ReconnectBackoff(defaultBackoff, lowest);

    expect(backoff.failed(auth, 0)).toBe(30_000);
    expect(backoff.failed(auth, 30_000)).toBe(60_000);
    backoff.bound(100_000);
    expect(backoff.failed(auth, 100_010)).toBe(30_000);
  });
});
