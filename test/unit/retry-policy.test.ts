import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SubmitResult } from '../../service/src/core/ports.js';
import { busyDelaySeconds, decide, retryDelaySeconds, statusCode, storeRetryDelayMs, StoredErrorCode } from '../../service/src/core/retry-policy.js';
import { classifySubmitStatus, Status, statusDescription, statusName } from '../../service/src/smpp/command-status.js';

const middle = () => 0.5;
const first = { receiveCount: 1, maxReceiveCount: 10, random: middle };
const last = { receiveCount: 10, maxReceiveCount: 10, random: middle };

const accepted: SubmitResult = { kind: 'accepted', smscMessageId: 'a1', latencyMs: 3 };
const handedBack: SubmitResult = { kind: 'handed-back', reason: 'shutting down' };
const systemError: SubmitResult = { kind: 'retryable', name: 'ESME_RSYSERR', status: Status.ESME_RSYSERR };
const linkFailed: SubmitResult = { kind: 'retryable', name: 'socket closed' };
const timedOut: SubmitResult = { kind: 'unknown', reason: 'no response within 10000 ms' };
const badAddress: SubmitResult = { kind: 'permanent', status: 0x0b, name: 'ESME_RINVDSTADR', description: 'Invalid destination address' };

/** The SubmitResult the SMSC client makes of a response status (smpp/client.ts), as the pipeline receives it. */
function resultOf(status: number): SubmitResult {
  if (status === Status.ESME_ROK) return accepted;
  switch (classifySubmitStatus(status)) {
    case 'fail':
      return { kind: 'permanent', status, name: statusName(status), description: statusDescription(status) };
    default:
      // slow-down, defer-destination, rebind and retry are re-sent by the client; what reaches the pipeline is retryable.
      return { kind: 'retryable', name: statusName(status), status };
  }
}

describe('retry policy: what becomes of a job after its submits', () => {
  it('deletes a job whose parts were all accepted', () => {
    expect(decide([accepted, accepted], first)).toEqual({ action: 'done' });
  });

  it('fails a job the SMSC refused permanently, with the status as the error, even beside other outcomes', () => {
    expect(decide([accepted, timedOut, badAddress], first)).toEqual({
      action: 'fail',
      error: { code: '0x0000000b', name: 'ESME_RINVDSTADR', description: 'Invalid destination address' },
    });
  });

  it('hands back a job whose parts were never sent, without counting an attempt', () => {
    expect(decide([accepted, handedBack], last)).toEqual({ action: 'hand-back' });
  });

  it('retries a temporary refusal after a delay that grows with the receive count', () => {
    const d1 = decide([systemError], { ...first, receiveCount: 1 });
    const d5 = decide([systemError], { ...first, receiveCount: 5 });
    expect(d1).toEqual({ action: 'retry', error: { code: '0x00000008', name: 'ESME_RSYSERR', description: 'retryable: will be sent again' }, unknownOutcome: false, delaySeconds: 2 });
    expect(d5).toMatchObject({ action: 'retry', delaySeconds: 32 });
  });

  it('counts an unknown outcome, and prefers a real failure over a hand-back in the same attempt', () => {
    expect(decide([handedBack, timedOut], first)).toMatchObject({ action: 'retry', unknownOutcome: true, error: { code: StoredErrorCode.UNKNOWN_OUTCOME, name: 'UNKNOWN_OUTCOME' } });
    expect(decide([linkFailed], first)).toMatchObject({ action: 'retry', error: { code: StoredErrorCode.SEND_FAILED, name: 'socket closed' } });
  });

  it('records the last attempt as exhausted, with the reason and the count', () => {
    expect(decide([accepted, timedOut], last)).toEqual({
      action: 'exhausted',
      unknownOutcome: true,
      error: { code: StoredErrorCode.UNKNOWN_OUTCOME, name: 'UNKNOWN_OUTCOME', description: 'retries exhausted after 10 attempts (no response within 10000 ms)' },
    });
  });

  it('gives every SMPP status the connector knows a decision: accepted → done, permanent → fail, the rest retried, then exhausted', () => {
    const known = [...new Set([...Object.values(Status), 0x01, 0x0a, 0x0b, 0x0c, 0x45, 0x48, 0x49, 0x50, 0x51, 0x61, 0x62, 0x65, 0x66, 0xff, 0x400])];
    for (const status of known) {
      const result = resultOf(status);
      const early = decide([result], first);
      const final = decide([result], last);
      if (status === Status.ESME_ROK) {
        expect(early, statusName(status)).toEqual({ action: 'done' });
      } else if (result.kind === 'permanent') {
        expect([early.action, final.action], statusName(status)).toEqual(['fail', 'fail']);
        expect(early).toMatchObject({ error: { code: statusCode(status) } });
      } else {
        expect([early.action, final.action], statusName(status)).toEqual(['retry', 'exhausted']);
      }
    }
  });

  it('never retries past the redrive limit, never fails a job that was only handed back (property)', () => {
    const results = fc.constantFrom(accepted, handedBack, systemError, linkFailed, timedOut, badAddress);
    fc.assert(
      fc.property(fc.array(results, { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 }), (rs, receiveCount, maxReceiveCount) => {
        const d = decide(rs, { receiveCount, maxReceiveCount, random: Math.random });
        if (d.action === 'retry') expect(receiveCount).toBeLessThan(maxReceiveCount);
        if (rs.every((r) => r.kind === 'accepted' || r.kind === 'handed-back')) expect(['done', 'hand-back']).toContain(d.action);
        if (rs.some((r) => r.kind === 'permanent')) expect(d.action).toBe('fail');
      }),
    );
  });
});

describe('retry policy: delays', () => {
  it('keeps every delay within its jitter band', () => {
    for (const r of [0, 0.5, 0.999]) {
      const random = () => r;
      expect(retryDelaySeconds(3, random)).toBeGreaterThanOrEqual(6);
      expect(retryDelaySeconds(3, random)).toBeLessThanOrEqual(10);
      expect(storeRetryDelayMs(0, random)).toBeGreaterThanOrEqual(187.5);
      expect(storeRetryDelayMs(99, random)).toBeLessThanOrEqual(6250);
    }
    expect(retryDelaySeconds(20, () => 0.5)).toBe(900);
  });

  it('looks at a busy job again once its lease could have run out', () => {
    expect(busyDelaySeconds(15)).toBe(15);
    expect(busyDelaySeconds(1)).toBe(5);
  });
});
