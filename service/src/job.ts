import { z } from 'zod';
import type { Job } from './domain.js';

/** Client ids (docs/architecture.md §3.1). No '#', which keeps them apart from internal item ids. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export const SENDER_PATTERN = /^(?:\+[0-9]{6,15}|[0-9]{3,15}|(?=.*[A-Za-z])[A-Za-z0-9 ._&-]{1,11})$/;
const MAX_TEXT_CHARS = 10_000;
const MAX_METADATA_BYTES = 2048;

/**
 * The outbound job contract, validated with zod and published as JSON Schema
 * (service/job.schema.json, generated from this definition). Unknown fields are
 * refused: a typo such as `recipt` must not silently change behaviour.
 */
export const jobSchema = z
  .strictObject({
    id: z.string().regex(JOB_ID_PATTERN, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -'),
    to: z.string().regex(/^\+?[0-9]{6,15}$/, 'must be a phone number: + and 6-15 digits (E.164), or 6-15 digits'),
    from: z
      .string()
      // isValidAddress as one pattern, so the published JSON Schema carries the rule too (a unit test keeps them equal).
      .regex(SENDER_PATTERN, 'must be an E.164 number, a 3-8 digit short code, or an alphanumeric sender of at most 11 characters'),
    text: z.string().max(MAX_TEXT_CHARS, `must be at most ${MAX_TEXT_CHARS} characters`),
    encoding: z.enum(['auto', 'gsm7', 'latin1', 'ucs2']).default('auto'),
    receipt: z.boolean().default(true),
    validityPeriodSeconds: z.number().int().min(60).max(30 * 86_400).optional(),
    scheduleAt: z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time with a time zone' }).optional(),
    metadata: z
      .record(z.string(), z.unknown())
      .refine((m) => Buffer.byteLength(JSON.stringify(m)) <= MAX_METADATA_BYTES, `must be at most ${MAX_METADATA_BYTES} bytes as JSON`)
      .optional(),
  })
  .meta({ title: 'smpp-connector outbound job', description: 'Body of an SQS message asking the connector to send one SMS.' });

export type JobParse = { ok: true; job: Job } | { ok: false; reason: string; id?: string };

/**
 * Parses an SQS body. Never throws: a bad job gets a readable reason, and its id
 * when the id itself was usable (so the INVALID record lands where the producer looks).
 */
export function parseJob(body: string): JobParse {
  let raw: unknown;
  try {
    // A byte-order mark is not JSON, but some producers' encoders write one.
    raw = JSON.parse(body.startsWith('\uFEFF') ? body.slice(1) : body);
  } catch (err) {
    return { ok: false, reason: `body is not JSON: ${withoutQuotedBody((err as Error).message)}` };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, reason: 'body must be a JSON object' };
  }
  const candidate = (raw as Record<string, unknown>)['id'];
  const id = typeof candidate === 'string' && JOB_ID_PATTERN.test(candidate) ? candidate : undefined;
  const parsed = jobSchema.safeParse(raw);
  if (!parsed.success) {
    const reason = parsed.error.issues
      .map((i) => {
        if (i.code === 'unrecognized_keys') return `unknown field(s): ${i.keys.join(', ')}`;
        const where = i.path.join('.') || 'job';
        return i.code === 'invalid_type' && i.message.endsWith('received undefined') ? `${where}: is required` : `${where}: ${i.message}`;
      })
      .join('; ');
    return { ok: false, reason, ...(id !== undefined && { id }) };
  }
  const j = parsed.data;
  const job: Job = { id: j.id, to: j.to, from: j.from, text: j.text, encoding: j.encoding, receipt: j.receipt };
  if (j.validityPeriodSeconds !== undefined) job.validityPeriodSeconds = j.validityPeriodSeconds;
  if (j.scheduleAt !== undefined) job.scheduleAt = j.scheduleAt;
  if (j.metadata !== undefined) job.metadata = j.metadata;
  return { ok: true, job };
}

/**
 * V8's JSON.parse messages quote up to ~20 characters of the body (`Unexpected token '+', "{"to":+659123456"... is
 * not valid JSON`). The reason is logged and stored, so it must not carry a phone number or message text: keep the
 * message up to its first quote.
 */
function withoutQuotedBody(message: string): string {
  const quote = message.indexOf('"');
  if (quote < 0) return message;
  return message.slice(0, quote).replace(/[\s,.]+$/, '') || 'not valid JSON';
}

/** The published JSON Schema for producers. */
export function jobJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(jobSchema, { io: 'input' }) as Record<string, unknown>;
}
