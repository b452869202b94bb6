/**
 * The pure parts of the look-up and replay tools: the number forms a look-up queries, the CLI's
 * `--since` / `--until` and its table, and the job id a redrive preview reads from a body.
 */
import { describe, expect, it } from 'vitest';
import { originatorForms, recipientForms } from '../../service/src/aws/status-store/lookups.js';
import type { MoItem, StatusItem } from '../../service/src/aws/status-store/index.js';
import { jsonLines, messagesTable, mosTable, parseWhen } from '../../service/src/tools/lookup-format.js';
import { jobIdOf } from '../../service/src/tools/redrive.js';
import { resolveReplayTarget } from '../../service/src/tools/replay-target.js';

const NOW = Date.parse('2030-01-08T12:00:00.000Z');

describe('number forms', () => {
  it('queries a recipient with and without its +, and refuses what the job schema would', () => {
    expect(recipientForms('+6591234567')).toEqual(['+6591234567', '6591234567']);
    expect(recipientForms(' 6591234567 ')).toEqual(['+6591234567', '6591234567']);
    for (const bad of ['', '12345', '+65 9123 4567', 'abc', '+1234567890123456']) expect(() => recipientForms(bad)).toThrow(RangeError);
  });

  it('queries a numeric originator in both forms, and an alphanumeric one as it is', () => {
    expect(originatorForms('6591234567')).toEqual(['+6591234567', '6591234567']);
    expect(originatorForms('Bank')).toEqual(['Bank']);
    expect(() => originatorForms('  ')).toThrow(RangeError);
  });
});

describe('parseWhen', () => {
  it('reads a duration back from now, or an ISO-8601 date-time', () => {
    expect(parseWhen('--since', '7d', NOW)).toBe(NOW - 7 * 86_400_000);
    expect(parseWhen('--since', '24h', NOW)).toBe(NOW - 86_400_000);
    expect(parseWhen('--since', '30m', NOW)).toBe(NOW - 1_800_000);
    expect(parseWhen('--since', '90s', NOW)).toBe(NOW - 90_000);
    expect(parseWhen('--until', '2030-01-01T08:00:00+08:00', NOW)).toBe(Date.parse('2030-01-01T00:00:00Z'));
    expect(parseWhen('--until', '2030-01-01', NOW)).toBe(Date.parse('2030-01-01T00:00:00Z'));
  });

  it('names the flag when it can read neither', () => {
    expect(() => parseWhen('--since', 'last week', NOW)).toThrow('--since: "last week" is neither a duration (7d, 24h, 30m, 90s) nor an ISO-8601 date-time');
    expect(() => parseWhen('--since', '7', NOW)).toThrow(RangeError);
  });
});

describe('output', () => {
  const message = {
    id: 'order-42', kind: 'MESSAGE', status: 'FAILED', statusRank: 100, to: '+6591234567', from: '8x8', segments: 1, parts: {},
    createdAt: '2030-01-01T00:00:00.000Z', updatedAt: '2030-01-01T00:00:01.000Z', attempts: 1, unknownOutcomes: 0, history: [], version: 2, expiresAt: 0,
    lastError: { code: '0x00000045', name: 'ESME_RSUBMITFAIL', description: 'x' }, retries: 1,
  } as StatusItem;
  const mo = { id: 'MO#1', kind: 'MO', from: '6591234567', to: '8x8', text: 'STOP\nplease, and this text goes on and on for a while', dataCoding: 0, parts: 1, receivedAt: '2030-01-02T00:00:00.000Z', expiresAt: 0 } as MoItem;

  it('prints messages and MOs as aligned tables, newest first as given, MO text on one line and cut', () => {
    expect(messagesTable([message])).toBe(
      'createdAt                 id        status  to           from  parts  detail\n' +
        '2030-01-01T00:00:00.000Z  order-42  FAILED  +6591234567  8x8   1      ESME_RSUBMITFAIL 1 retry\n',
    );
    expect(mosTable([mo]).split('\n')[1]).toBe('2030-01-02T00:00:00.000Z  MO#1  6591234567  8x8  1      STOP please, and this text goes on and …');
  });

  it('prints one JSON object per line with --json', () => {
    expect(jsonLines([message, mo]).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['order-42', 'MO#1']);
  });
});

describe('jobIdOf', () => {
  it('reads a job id from a body, and nothing from a body without one', () => {
    expect(jobIdOf('{"id":"order-42","to":"+6591234567","text":"x"}')).toBe('order-42');
    expect(jobIdOf('\uFEFF{"id":"bom"}')).toBe('bom');
    expect(jobIdOf('{"id":42}')).toBeUndefined();
    expect(jobIdOf('[1]')).toBeUndefined();
    expect(jobIdOf('not json')).toBeUndefined();
  });
});

describe('resolveReplayTarget', () => {
  it("takes each lane's queue and DLQ from flags, then the environment, and never a local stack's DLQ beside another queue", () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, {
        OUTBOUND_QUEUE_URL: 'https://sqs.example/q',
        OUTBOUND_DLQ_URL: 'https://sqs.example/q-dlq',
        OUTBOUND_PRIORITY_QUEUE_URL: 'https://sqs.example/p',
        OUTBOUND_PRIORITY_DLQ_URL: 'https://sqs.example/p-dlq',
        MESSAGES_TABLE: 'messages',
        AWS_REGION: 'ap-southeast-1',
      });
      expect(resolveReplayTarget()).toEqual({ region: 'ap-southeast-1', lane: 'bulk', queueUrl: 'https://sqs.example/q', dlqUrl: 'https://sqs.example/q-dlq', tableName: 'messages' });
      expect(resolveReplayTarget({ lane: 'priority' })).toMatchObject({ lane: 'priority', queueUrl: 'https://sqs.example/p', dlqUrl: 'https://sqs.example/p-dlq' });
      expect(resolveReplayTarget({ lane: 'priority', queueUrl: 'https://sqs.example/x', dlqUrl: 'https://sqs.example/y' })).toMatchObject({ queueUrl: 'https://sqs.example/x', dlqUrl: 'https://sqs.example/y' });
      delete process.env['OUTBOUND_DLQ_URL'];
      // Left to the queue's redrive policy (deadLetterQueueOf).
      expect(resolveReplayTarget()).not.toHaveProperty('dlqUrl');
    } finally {
      process.env = saved;
    }
  });
});
