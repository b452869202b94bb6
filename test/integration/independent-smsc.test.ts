/**
 * The service end to end against an SMSC that does not use the `smpp` package
 * (test/support/independent-smsc.ts, a codec written from the SMPP 3.4 specification): real SQS and
 * DynamoDB stand-ins, plaintext TCP to that SMSC. Our simulator shares the client's codec, so a
 * quirk of it would cancel out there; here it shows up as a broken rule, a wrong field or a lost
 * receipt or MO.
 */
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatusStore, type StatusItem } from '../../service/src/aws/status-store/index.js';
import { loadConfig } from '../../service/src/config.js';
import { createQueues } from '../../service/src/local/emulators.js';
import { silentLogger } from '../../service/src/logger.js';
import { startService, type RunningService } from '../../service/src/main.js';
import { sendSms, type SmsInput } from '../../service/src/tools/client.js';
import { useLocalAws, type LocalAwsForTests } from '../support/aws.js';
import { gsmSeptets, gsmText, IndependentSmsc, ucs2, ucs2Text, type DeliverRecord } from '../support/independent-smsc.js';
import { serviceEnv } from '../support/service-env.js';

let aws: LocalAwsForTests;
let smsc: IndependentSmsc;
let service: RunningService;
let store: StatusStore;
let queueUrl: string;
let tableName: string;

beforeAll(async () => {
  aws = useLocalAws();
  smsc = new IndependentSmsc({ systemId: 'test', password: 'secret' });
  const port = await smsc.start();
  ({ queueUrl } = await createQueues(aws.sqs, aws.uniqueName('independent')));
  tableName = await aws.sharedTable();
  store = new StatusStore({ client: aws.dynamodb, tableName });
  // serviceEnv: 1 TX + 1 RX bind, plaintext TCP to 127.0.0.1, credentials test/secret.
  service = await startService(loadConfig(serviceEnv(port, queueUrl, tableName)), { logger: silentLogger });
  await service.ready();
});

afterAll(async () => {
  await service?.stop();
  await smsc?.stop();
});

/** Six random digits, so numbers are unique to this run in the shared table. */
const run = () => String(Math.floor(Math.random() * 1e6)).padStart(6, '0');

/** The text of a short_message as the SMSC reads it, by its own decoders. */
function textOf(dataCoding: number, octets: Buffer): string {
  switch (dataCoding) {
    case 0:
      return gsmText(octets);
    case 3:
      return octets.toString('latin1');
    case 8:
      return ucs2Text(octets);
    default:
      throw new Error(`data_coding ${dataCoding} not expected`);
  }
}

/** Every sending of these deliver_sm as [outcome, command_status, message_id of the answer]. */
const answers = (records: DeliverRecord[]) => records.map((r) => r.attempts.map((a) => [a.outcome, a.status, a.responseMessageId]));

/** Polls DynamoDB (it has no push) until `read` returns a value, or throws at the deadline. */
async function eventually<T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not in DynamoDB within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** MO items from one number, found by content (a Scan), not by id: how MO ids are derived may change. */
async function moItemsFrom(from: string): Promise<Array<Record<string, AttributeValue>>> {
  const items: Array<Record<string, AttributeValue>> = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await aws.dynamodb.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: '#kind = :mo AND #from = :from',
        ExpressionAttributeNames: { '#kind': 'kind', '#from': 'from' },
        ExpressionAttributeValues: { ':mo': { S: 'MO' }, ':from': { S: from } },
        ConsistentRead: true,
        ...(start && { ExclusiveStartKey: start }),
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

describe('the service against an SMSC with its own SMPP 3.4 codec', () => {
  it('binds one transmitter and one receiver with the configured credentials', () => {
    expect(smsc.binds.map((b) => [b.role, b.systemId, b.status]).sort()).toEqual([
      ['receiver', 'test', 0],
      ['transmitter', 'test', 0],
    ]);
    expect(smsc.violations).toEqual([]);
  });

  it('submits each job with its data_coding and destination, and records DELIVERED from Appendix B receipts', async () => {
    const r = run();
    const jobs: Array<SmsInput & { id: string; to: string; text: string }> = [
      { id: `indep-gsm-${r}`, to: `+659${r}01`, from: '8x8', text: 'Code 1234 @ home: 5€ {ok} [£3] ~_^' },
      { id: `indep-latin1-${r}`, to: `+659${r}02`, from: '8x8', text: 'Grüße, ça va? ¿Sí!', encoding: 'latin1' },
      { id: `indep-ucs2-${r}`, to: `+659${r}03`, from: '8x8', text: 'Привет 👋 你好' },
    ];
    const expected = [
      { dataCoding: 0, encoding: 'GSM7' },
      { dataCoding: 3, encoding: 'LATIN1' },
      { dataCoding: 8, encoding: 'UCS2' },
    ];
    const ours = (destination: string) => jobs.some((j) => j.to === `+${destination}`);

    await sendSms(jobs, { queueUrl, sqs: aws.sqs });
    await smsc.waitFor(
      () => smsc.delivers.filter((d) => d.kind === 'receipt' && d.acknowledged && ours(d.pdu.sourceAddr)).length === jobs.length,
      'acknowledged receipt for each of the 3 jobs',
      20_000,
    );
    const items = await Promise.all(
      jobs.map((j) => eventually(async () => ((await store.get(j.id))?.status === 'DELIVERED' ? store.get(j.id) : undefined), `${j.id} DELIVERED`)),
    );

    const submits = smsc.submissions.filter((s) => ours(s.pdu.destinationAddr));
    expect(submits).toHaveLength(jobs.length);
    jobs.forEach((j, i) => {
      const submit = submits.find((s) => `+${s.pdu.destinationAddr}` === j.to);
      const want = expected[i]!;
      expect(submit?.pdu).toMatchObject({
        destinationAddr: j.to.slice(1),
        destAddrTon: 1,
        destAddrNpi: 1,
        sourceAddr: '8x8',
        sourceAddrTon: 5,
        sourceAddrNpi: 0,
        esmClass: 0,
        registeredDelivery: 1,
        dataCoding: want.dataCoding,
      });
      expect(textOf(submit!.pdu.dataCoding, submit!.pdu.shortMessage)).toBe(j.text);
      const item: StatusItem = items[i]!;
      expect(item).toMatchObject({ status: 'DELIVERED', encoding: want.encoding, segments: 1, stat: 'DELIVRD' });
      // The id our SMSC assigned (10 upper-case hex digits) is the one the receipt was matched by.
      expect(submit!.messageId).toMatch(/^[0-9A-F]{10}$/);
      expect(item.parts['1']?.smscMessageId).toBe(submit!.messageId);
    });
    const receipts = smsc.delivers.filter((d) => d.kind === 'receipt' && ours(d.pdu.sourceAddr));
    expect(receipts.map((d) => d.smscMessageId).sort()).toEqual(submits.map((s) => s.messageId).sort());
    expect(answers(receipts)).toEqual(receipts.map(() => [['answered', 0, '']]));
    expect(smsc.violations).toEqual([]);
  });

  it('stores a 3-part GSM MO (8-bit reference UDH) and a UCS-2 MO with their whole text', async () => {
    const r = run();
    const to = '6590001234';
    const longFrom = `6581${r}`;
    const ucs2From = `6582${r}`;
    const sentence = 'Long MO @ Café: 5€ for {two} [items] ~ ok_ ';
    const longText = sentence.repeat(9).trimEnd();
    const ucs2Text = 'Привет из Сингапура 👋 你好';
    const reference = Number(r) % 256;
    // 3 parts of at most 153 septets.
    expect(Math.ceil(gsmSeptets(longText).length / 153)).toBe(3);

    const [parts, single] = await Promise.all([
      smsc.deliverConcatenatedGsm(longFrom, to, longText, reference),
      smsc.deliverMo({ from: ucs2From, to, dataCoding: 8, shortMessage: ucs2(ucs2Text) }),
    ]);
    const [long] = await Promise.all([
      eventually(async () => (await moItemsFrom(longFrom)).find((i) => i['text']?.S === longText), `3-part MO from ${longFrom}`),
      eventually(async () => (await moItemsFrom(ucs2From)).find((i) => i['text']?.S === ucs2Text), `UCS-2 MO from ${ucs2From}`),
    ]);

    // UDHI set, data_coding 0, UDH: length 5, IEI 0x00, length 3, reference, total 3, sequence.
    expect(parts.map((p) => [p.pdu.esmClass, p.pdu.dataCoding, [...p.pdu.shortMessage.subarray(0, 6)]])).toEqual(
      parts.map((_, i) => [0x40, 0, [0x05, 0x00, 0x03, reference, 3, i + 1]]),
    );
    expect(long?.['to']?.S).toBe(to);
    // Exactly one item per message: no part stored on its own, nothing stored twice.
    expect((await moItemsFrom(longFrom)).map((i) => i['text']?.S)).toEqual([longText]);
    expect((await moItemsFrom(ucs2From)).map((i) => [i['text']?.S, i['to']?.S])).toEqual([[ucs2Text, to]]);
    expect(answers([...parts, single])).toEqual([...parts, single].map(() => [['answered', 0, '']]));
    expect(smsc.violations).toEqual([]);
  });
});
