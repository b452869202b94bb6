import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JOB_ID_PATTERN, jobJsonSchema, jobSchema, parseJob, SENDER_PATTERN } from '../../service/src/job.js';
import { isValidAddress } from '../../service/src/smpp/address.js';
import { asciiJson } from '../../service/src/tools/client.js';

const numRuns = Number(process.env['PROPERTY_RUNS'] ?? 300);
/** The long run (PROPERTY_RUNS=100000) needs more than the default 30 s per property. */
const propertyTimeout = Math.max(30_000, numRuns * 3);

/** A valid job body; each malformed case changes one thing. */
function body(overrides: Record<string, unknown> = {}, omit: string[] = []): string {
  const job: Record<string, unknown> = { id: 'job-1', to: '+6591234567', from: '8x8', text: 'Hello', ...overrides };
  for (const key of omit) delete job[key];
  return JSON.stringify(job);
}

describe('parseJob: malformed jobs each get a readable INVALID reason', () => {
  const cases: Array<[string, string, string | RegExp]> = [
    ['a number as the id', body({ id: 42 }), 'id: Invalid input: expected string, received number'],
    ['a number as the destination', body({ to: 6591234567 }), 'to: Invalid input: expected string, received number'],
    ['a number as the text', body({ text: 5 }), 'text: Invalid input: expected string, received number'],
    ['null as the text', body({ text: null }), 'text: Invalid input: expected string, received null'],
    ['a string as the receipt flag', body({ receipt: 'yes' }), 'receipt: Invalid input: expected boolean, received string'],
    ['an encoding that does not exist', body({ encoding: 'utf8' }), /^encoding: Invalid option: expected one of "auto"\|"gsm7"\|"latin1"\|"ucs2"$/],
    ['no destination', body({}, ['to']), 'to: is required'],
    ['no text', body({}, ['text']), 'text: is required'],
    ['an empty object', '{}', 'id: is required; to: is required; from: is required; text: is required'],
    ['a text of 10,001 characters', body({ text: 'x'.repeat(10_001) }), 'text: must be at most 10000 characters'],
    ['letters as the destination', body({ to: 'abc' }), /^to: must be a phone number: \+ and 6-15 digits/],
    ['a destination of 5 digits', body({ to: '+12345' }), /^to: must be a phone number/],
    ['a destination of 16 digits', body({ to: '+1234567890123456' }), /^to: must be a phone number/],
    ['a destination with a trailing newline', body({ to: '+6591234567\n' }), /^to: must be a phone number/],
    ['full-width digits as the destination', body({ to: '\uff16\uff15\uff19\uff11\uff12\uff13\uff14' }), /^to: must be a phone number/],
    ['an alphanumeric sender of 12 characters', body({ from: 'ABCDEFGHIJKL' }), /^from: must be an E\.164 number, a 3-8 digit short code, or an alphanumeric sender of at most 11 characters$/],
    ['an empty sender', body({ from: '' }), /^from: must be/],
    ['a sender with a NUL character', body({ from: '8x8\u0000' }), /^from: must be/],
    ['unknown fields', body({ colour: 'red', recipt: false }), 'unknown field(s): colour, recipt'],
    ['a __proto__ field', `{${body().slice(1, -1)},"__proto__":{"polluted":true}}`, 'unknown field(s): __proto__'],
    ['a validity period under a minute', body({ validityPeriodSeconds: 59 }), 'validityPeriodSeconds: Too small: expected number to be >=60'],
    ['a validity period over 30 days', body({ validityPeriodSeconds: 30 * 86_400 + 1 }), 'validityPeriodSeconds: Too big: expected number to be <=2592000'],
    ['a fractional validity period', body({ validityPeriodSeconds: 100.5 }), 'validityPeriodSeconds: Invalid input: expected int, received number'],
    ['a validity period as a string', body({ validityPeriodSeconds: '3600' }), 'validityPeriodSeconds: Invalid input: expected number, received string'],
    ['a validity period of 1e400 (Infinity)', `{${body().slice(1, -1)},"validityPeriodSeconds":1e400}`, /^validityPeriodSeconds: .*Infinity/],
    ['a scheduleAt without a time zone', body({ scheduleAt: '2030-01-01T10:00:00' }), 'scheduleAt: must be an ISO-8601 date-time with a time zone'],
    ['a scheduleAt on 30 February', body({ scheduleAt: '2030-02-30T10:00:00+08:00' }), 'scheduleAt: must be an ISO-8601 date-time with a time zone'],
    ['a scheduleAt in words', body({ scheduleAt: 'tomorrow' }), 'scheduleAt: must be an ISO-8601 date-time with a time zone'],
    ['metadata over 2 KiB', body({ metadata: { blob: 'x'.repeat(3000) } }), 'metadata: must be at most 2048 bytes as JSON'],
    ['metadata as an array', body({ metadata: [1, 2] }), 'metadata: Invalid input: expected record, received array'],
    ['two problems at once', body({ to: 'abc', text: 7 }), /^to: must be a phone number.*; text: Invalid input: expected string, received number$/],
  ];

  it.each(cases)('refuses %s, naming the field', (_name, input, reason) => {
    const result = parseJob(input);

    expect(result.ok).toBe(false);
    if (result.ok) return;
    if (typeof reason === 'string') expect(result.reason).toBe(reason);
    else expect(result.reason).toMatch(reason);
  });

  it.each(cases.filter(([name]) => !name.includes(' id') && name !== 'an empty object'))('keeps the usable id of a job with %s', (_name, input) => {
    expect(parseJob(input)).toMatchObject({ ok: false, id: 'job-1' });
  });

  const notObjects: Array<[string, string, string | RegExp]> = [
    ['an empty body', '', 'body is not JSON: Unexpected end of JSON input'],
    ['plain text', 'hello there', /^body is not JSON: /],
    ['truncated JSON', '{"id":"a"', "body is not JSON: Expected ',' or '}' after property value in JSON at position 9"],
    ['a JSON array', '[{"id":"a"}]', 'body must be a JSON object'],
    ['JSON null', 'null', 'body must be a JSON object'],
    ['a JSON string', '"{}"', 'body must be a JSON object'],
    ['a JSON number', '42', 'body must be a JSON object'],
  ];

  it.each(notObjects)('refuses %s with no id', (_name, input, reason) => {
    const result = parseJob(input);

    expect(result).not.toHaveProperty('id');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    if (typeof reason === 'string') expect(result.reason).toBe(reason);
    else expect(result.reason).toMatch(reason);
  });

  it('quotes nothing of a non-JSON body in the reason, which is logged and stored', () => {
    // Prepare: V8's own message would quote '{"to":+659123456' here.
    const input = '{"to":+6591234567,"text":"SECRET-TEXT-xyz"}';
    // Act
    const result = parseJob(input);
    // Assess
    expect(result).toEqual({ ok: false, reason: "body is not JSON: Unexpected token '+'" });
  });

  it.each([
    ['a space', 'has space'],
    ['a hash', 'a#b'],
    ['a slash', 'a/b'],
    ['non-ASCII letters', 'jöb'],
    ['129 characters', 'a'.repeat(129)],
    ['nothing', ''],
  ])('leaves out an id with %s, so the record falls back to the SQS message id', (_name, id) => {
    const result = parseJob(body({ id }));

    expect(result).toEqual({ ok: false, reason: 'id: must be 1-128 characters of A-Z a-z 0-9 . _ : -' });
  });
});

describe('parseJob: valid jobs', () => {
  it('fills in the defaults: auto encoding and a receipt', () => {
    expect(parseJob(body())).toEqual({ ok: true, job: { id: 'job-1', to: '+6591234567', from: '8x8', text: 'Hello', encoding: 'auto', receipt: true } });
  });

  it('keeps every optional field', () => {
    const input = body({ encoding: 'ucs2', receipt: false, validityPeriodSeconds: 3600, scheduleAt: '2030-01-01T10:00:00+08:00', metadata: { campaign: 'x', n: 1 } });

    expect(parseJob(input)).toEqual({
      ok: true,
      job: {
        id: 'job-1',
        to: '+6591234567',
        from: '8x8',
        text: 'Hello',
        encoding: 'ucs2',
        receipt: false,
        validityPeriodSeconds: 3600,
        scheduleAt: '2030-01-01T10:00:00+08:00',
        metadata: { campaign: 'x', n: 1 },
      },
    });
  });

  it('accepts a text of exactly 10,000 characters', () => {
    expect(parseJob(body({ text: 'x'.repeat(10_000) })).ok).toBe(true);
  });

  it.each([
    ['a short code', '12345'],
    ['an E.164 number', '+6512345678'],
    ['an alphanumeric sender of 11 characters', 'ABCDEFGHIJK'],
    ['an alphanumeric sender with a space and a dot', 'My Shop.SG'],
  ])('accepts %s as the sender', (_name, from) => {
    expect(parseJob(body({ from })).ok).toBe(true);
  });

  it.each([
    ['Cyrillic', 'Привет, мир'],
    ['Chinese', '你好，世界'],
    ['an emoji outside the BMP', 'Party 🎉 time 👍🏽'],
    ['Latin-1 accents', 'Ça va? Größe'],
  ])('reads %s the same whether the producer sent it raw or \\u-escaped', (_name, text) => {
    // Prepare: asciiJson is what our producer tools send (fauxqs refuses raw emoji, real SQS accepts both).
    const job = { id: 'job-1', to: '+6591234567', from: '8x8', text };
    const escaped = asciiJson(job);
    // Act
    const fromRaw = parseJob(JSON.stringify(job));
    const fromEscaped = parseJob(escaped);
    // Assess
    expect(escaped).toMatch(/^[\x20-\x7e]*$/);
    expect(fromEscaped).toEqual(fromRaw);
    expect(fromRaw).toMatchObject({ ok: true, job: { text } });
  });

  it('does not pollute Object.prototype through metadata.__proto__', () => {
    parseJob(`{${body().slice(1, -1)},"metadata":{"__proto__":{"polluted":true}}}`);

    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('parseJob properties', () => {
  const validJob = fc.record(
    {
      id: fc.stringMatching(JOB_ID_PATTERN),
      to: fc.stringMatching(/^\+?[0-9]{6,15}$/),
      from: fc.oneof(fc.stringMatching(/^[0-9]{3,8}$/), fc.stringMatching(/^\+[0-9]{6,15}$/), fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ._&-]{0,10}$/)),
      text: fc.string({ unit: 'binary', maxLength: 300 }),
      encoding: fc.constantFrom('auto', 'gsm7', 'latin1', 'ucs2'),
      receipt: fc.boolean(),
      validityPeriodSeconds: fc.integer({ min: 60, max: 30 * 86_400 }),
      scheduleAt: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
      metadata: fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean()), { maxKeys: 5 }),
    },
    { requiredKeys: ['id', 'to', 'from', 'text'] },
  );

  it(
    'never throws on an arbitrary string',
    () => {
      const anyString = fc.oneof(
        fc.string({ unit: 'binary' }),
        fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)) }),
        fc.json({ maxDepth: 3 }),
      );
      fc.assert(
        fc.property(anyString, (input) => typeof parseJob(input).ok === 'boolean'),
        { numRuns },
      );
    },
    propertyTimeout,
  );

  it(
    'never throws on an arbitrary JSON object, and every refusal has a reason and only a valid id',
    () => {
      // Job-shaped objects whose fields are sometimes plausible, sometimes anything, reach every field check.
      const anything = fc.jsonValue({ maxDepth: 2 });
      const jobShaped = fc.record(
        {
          id: fc.oneof(fc.stringMatching(JOB_ID_PATTERN), fc.string({ maxLength: 140 }), anything),
          to: fc.oneof(fc.stringMatching(/^\+?[0-9]{4,17}$/), anything),
          from: fc.oneof(fc.string({ maxLength: 14 }), anything),
          text: fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), anything),
          encoding: fc.oneof(fc.constantFrom('auto', 'gsm7', 'latin1', 'ucs2', 'utf8'), anything),
          receipt: fc.oneof(fc.boolean(), anything),
          validityPeriodSeconds: fc.oneof(fc.integer(), fc.double(), anything),
          scheduleAt: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string({ maxLength: 30 })),
          metadata: anything,
        },
        { requiredKeys: [] },
      );
      fc.assert(
        fc.property(fc.oneof(jobShaped, fc.dictionary(fc.string(), anything, { maxKeys: 8 })), (object) => {
          const result = parseJob(JSON.stringify(object));
          if (result.ok) return jobSchema.safeParse(result.job).success;
          return result.reason.length > 0 && (result.id === undefined || JOB_ID_PATTERN.test(result.id));
        }),
        { numRuns },
      );
    },
    propertyTimeout,
  );

  it(
    'accepts every valid job, and what it returns validates again and parses to itself',
    () => {
      fc.assert(
        fc.property(validJob, (job) => {
          const first = parseJob(JSON.stringify(job));
          if (!first.ok) return false;
          return (
            jobSchema.safeParse(first.job).success &&
            isDeepStrictEqual(parseJob(JSON.stringify(first.job)), first) &&
            isDeepStrictEqual(parseJob(asciiJson(job)), first)
          );
        }),
        { numRuns },
      );
    },
    propertyTimeout,
  );
});

describe('the published JSON Schema', () => {
  it('service/job.schema.json is the schema generated from the job definition', () => {
    // Regenerate with: npx tsx -e "import {writeFileSync} from 'node:fs'; import {jobJsonSchema} from './service/src/job.ts'; writeFileSync('service/job.schema.json', JSON.stringify(jobJsonSchema(), null, 2) + '\n')"
    const published = readFileSync(new URL('../../service/job.schema.json', import.meta.url), 'utf8');

    expect(published).toBe(`${JSON.stringify(jobJsonSchema(), null, 2)}\n`);
  });

  it('refuses unknown fields and requires id, to, from and text', () => {
    expect(jobJsonSchema()).toMatchObject({ additionalProperties: false, required: ['id', 'to', 'from', 'text'] });
  });
});

describe('parseJob leniency', () => {
  it('reads a job written with a UTF-8 byte order mark, as some encoders write one', () => {
    expect(parseJob(`\ufeff${JSON.stringify({ id: 'bom-1', to: '+6591234567', from: '8x8', text: 'hi' })}`)).toMatchObject({ ok: true, job: { id: 'bom-1' } });
  });

  it('publishes the sender rule as a pattern that agrees with isValidAddress', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^\+?[0-9]{1,17}$/), fc.stringMatching(/^[A-Za-z0-9 ._&-]{1,13}$/)), (from) => {
        expect(SENDER_PATTERN.test(from)).toBe(isValidAddress(from));
      }),
      { numRuns },
    );
  });
});
