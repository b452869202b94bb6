/**
 * The opt-out rules, without DynamoDB (docs/architecture.md §7.5): which MO texts are keywords,
 * how numbers and senders are keyed, what an MO changes, and when a job may be REJECTED as opted
 * out (core/opt-out.ts, core/message-state.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../service/src/config.js';
import {
  mayRejectOptedOut,
  newClaimItem,
  OPTED_OUT_REASON,
  withAccepted,
  withOptedOut,
  type ClaimOptions,
  type WriteTime,
} from '../../service/src/core/message-state.js';
import {
  isSuppressedBy,
  keywordState,
  moChange,
  normaliseNumber,
  normaliseSender,
  optOutId,
  suppressionIds,
  type OptOutSettings,
} from '../../service/src/core/opt-out.js';
import { MessageStatus, type Job } from '../../service/src/domain.js';

const numRuns = Number(process.env['PROPERTY_RUNS'] ?? 300);
/** The defaults, as the service reads them. */
const defaults: OptOutSettings = loadConfig({ SMPP_HOST: 'h', SMPP_SYSTEM_ID: 's', SMPP_PASSWORD: 'p', OUTBOUND_QUEUE_URL: 'https://q.example/q', MESSAGES_TABLE: 'tbl', AWS_REGION: 'r' }).optOut;

describe('keywordState', () => {
  it.each([
    ['STOP', 'out'],
    ['stop', 'out'],
    ['Stop.', 'out'],
    [' stop ', 'out'],
    ['STOP!!!', 'out'],
    ['stop?\n', 'out'],
    ['\tUnsubscribe', 'out'],
    ['cancel', 'out'],
    ['End', 'out'],
    ['quit.', 'out'],
    ['StopAll', 'out'],
    ['ＳＴＯＰ', 'out'], // full-width, as some phones type it
    ['START', 'in'],
    ['unstop!', 'in'],
    ['Start.', 'in'],
    ['STOP please', undefined],
    ['please stop', undefined],
    ['STOP 🛑', undefined],
    ['S T O P', undefined],
    ['STOPP', undefined],
    ['.stop', undefined],
    ['', undefined],
    ['   ', undefined],
    ['...', undefined],
    ['Стоп', undefined], // Cyrillic: not one of the configured keywords
    ['停止', undefined],
    ['STARTED', undefined],
  ] as const)('%j → %s', (text, expected) => {
    expect(keywordState(text, defaults)).toBe(expected);
  });

  it('uses the configured keywords, and only those', () => {
    const settings = { stopKeywords: ['ARRET', 'СТОП'], startKeywords: ['ЗАПУСК'] };
    expect(keywordState('arrêt', settings)).toBeUndefined();
    expect(keywordState('Arret!', settings)).toBe('out');
    expect(keywordState('стоп', settings)).toBe('out');
    expect(keywordState('Запуск.', settings)).toBe('in');
    expect(keywordState('STOP', settings)).toBeUndefined();
  });

  it('finds a keyword however it is cased and padded with white space and trailing punctuation', () => {
    const keyword = fc.constantFrom(...defaults.stopKeywords, ...defaults.startKeywords);
    const casing = fc.array(fc.boolean(), { minLength: 11, maxLength: 11 });
    const pad = fc.stringMatching(/^[ \t\r\n]{0,3}$/);
    const punctuation = fc.stringMatching(/^[.!?,;:…'")\]-]{0,4}$/);
    fc.assert(
      fc.property(keyword, casing, pad, punctuation, pad, (k, upper, before, after, end) => {
        const cased = [...k].map((c, i) => (upper[i] ? c : c.toLowerCase())).join('');
        const expected = defaults.stopKeywords.includes(k) ? 'out' : 'in';
        expect(keywordState(`${before}${cased}${after}${end}`, defaults)).toBe(expected);
      }),
      { numRuns },
    );
  });

  it('never takes a keyword followed by more words for one', () => {
    const keyword = fc.constantFrom(...defaults.stopKeywords, ...defaults.startKeywords);
    const word = fc.stringMatching(/^[A-Za-z0-9]{1,8}$/);
    fc.assert(
      fc.property(keyword, word, (k, w) => {
        expect(keywordState(`${k} ${w}`, defaults)).toBeUndefined();
      }),
      { numRuns },
    );
  });
});

describe('keys', () => {
  it('keys a number by its digits and a sender by digits or upper case', () => {
    expect(normaliseNumber('+6591234567')).toBe('6591234567');
    expect(normaliseNumber(' 6591234567 ')).toBe('6591234567');
    expect(normaliseSender('+6512345678')).toBe('6512345678');
    expect(normaliseSender('72345')).toBe('72345');
    expect(normaliseSender('8x8')).toBe('8X8');
    expect(normaliseSender('*')).toBe('*');
  });

  it("checks a job against its sender's entry and the every-sender entry", () => {
    expect(suppressionIds('+6591234567', '8x8')).toEqual(['OPTOUT#8X8#6591234567', 'OPTOUT#*#6591234567']);
    expect(optOutId('72345', '6591234567')).toBe('OPTOUT#72345#6591234567');
  });

  it('holds a job back when any of its entries is out', () => {
    expect(isSuppressedBy([undefined, undefined])).toBe(false);
    expect(isSuppressedBy(['in', undefined])).toBe(false);
    expect(isSuppressedBy(['in', 'out'])).toBe(true);
    expect(isSuppressedBy(['out', 'in'])).toBe(true);
  });
});

describe('moChange', () => {
  it("opts the number out of the sender the MO was sent to, or of every sender under scope 'all'", () => {
    const mo = { from: '6591234567', to: '72345', text: 'Stop.' };
    expect(moChange(mo, defaults)).toEqual({ number: '6591234567', sender: '72345', state: 'out' });
    expect(moChange(mo, { ...defaults, scope: 'all' })).toEqual({ number: '6591234567', sender: '*', state: 'out' });
    expect(moChange({ ...mo, text: 'start' }, defaults)).toEqual({ number: '6591234567', sender: '72345', state: 'in' });
    expect(moChange({ ...mo, text: 'Stop it' }, defaults)).toBeUndefined();
    expect(moChange({ ...mo, from: 'Operator', text: 'STOP' }, defaults)).toBeUndefined();
  });

  it('makes the entry a later job from that sender to that number is checked against', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\+?[1-9][0-9]{7,13}$/), fc.stringMatching(/^[0-9]{3,8}$/), (number, shortCode) => {
        const change = moChange({ from: number.replace(/^\+/, ''), to: shortCode, text: 'STOP' }, defaults);
        expect(change).toBeDefined();
        expect(suppressionIds(number.startsWith('+') ? number : `+${number}`, shortCode)[0]).toBe(optOutId(change!.sender, change!.number));
      }),
      { numRuns },
    );
  });
});

describe('REJECTED as opted out (core/message-state.ts)', () => {
  const T0 = Date.parse('2030-01-01T00:00:00.000Z');
  const t: WriteTime = { now: T0 + 1000, ttlSeconds: 86_400 };
  const job: Job = { id: 'j-1', to: '+6591234567', from: '72345', text: 'x'.repeat(200), encoding: 'auto', receipt: true };
  const opts: ClaimOptions = { owner: 'task-a', leaseMs: 15_000, sqsMessageId: 'sqs-1', encoding: 'GSM7', segments: 2, concat: 'udh8', concatRef: 9 };
  const claimed = newClaimItem(job, opts, { now: T0, ttlSeconds: 86_400 });

  it('records a claimed, unsent job REJECTED with its reason, final, a history entry, the claim gone', () => {
    const next = withOptedOut(claimed, 'task-a', t);
    expect(next).toMatchObject({ status: MessageStatus.REJECTED, statusRank: 100, reason: OPTED_OUT_REASON, doneAt: new Date(t.now).toISOString(), parts: {} });
    expect(next?.history.map((h) => h.status)).toEqual([MessageStatus.SUBMITTING, MessageStatus.REJECTED]);
    expect(next).not.toHaveProperty('claimOwner');
    expect(next).not.toHaveProperty('claimExpiresAt');
  });

  it('never rejects a job one of whose parts was accepted, nor one another owner holds, nor one past SUBMITTING', () => {
    const partly = withAccepted(claimed, [{ part: 1, smscMessageId: 'abc', keys: ['abc'] }], [], 2, t);
    expect(partly.status).toBe(MessageStatus.SUBMITTING);
    expect(mayRejectOptedOut(partly, 'task-a')).toBe(false);
    expect(withOptedOut(partly, 'task-a', t)).toBeUndefined();
    expect(withOptedOut(claimed, 'task-b', t)).toBeUndefined();
    const rejected = withOptedOut(claimed, 'task-a', t)!;
    expect(withOptedOut({ ...rejected, claimOwner: 'task-a' }, 'task-a', t)).toBeUndefined();
  });
});
