/**
 * Checks the codec of ./independent-smsc.ts against Wireshark's SMPP dissector: captures one
 * loopback exchange between the independent SMSC and a raw ESME built on the same codec (bind,
 * submit_sm with a receipt, a 3-part GSM MO and a UCS-2 MO, enquire_link, unbind), then has
 * tshark read the capture and compares what it dissected with what was sent. Any malformed
 * packet, expert warning from the SMPP or GSM SMS dissectors, or disagreement fails it.
 *
 * Not part of the test suite (it needs tshark and the right to capture on `lo`):
 *   npx tsx test/support/independent-smsc-wireshark.ts
 * Exits 0 with a notice when tshark is not installed.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePdu, encodePdu, IndependentSmsc, PduFramer, ucs2, type Pdu } from './independent-smsc.js';

/** An ESME that only speaks this file's codec: sends PDUs, answers every deliver_sm with status 0. */
class RawEsme {
  private readonly framer = new PduFramer();
  private readonly waiting: Array<{ match: (p: Pdu) => boolean; resolve: (p: Pdu) => void }> = [];
  readonly received: Pdu[] = [];
  sent = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.framer.push(chunk)) {
        const { pdu, violations } = decodePdu(frame);
        if (violations.length > 0) throw new Error(`SMSC PDU broke rules: ${violations.join('; ')}`);
        this.received.push(pdu);
        if (pdu.command === 'deliver_sm') this.send({ command: 'deliver_sm_resp', commandStatus: 0, sequenceNumber: pdu.sequenceNumber, messageId: '' });
        const i = this.waiting.findIndex((w) => w.match(pdu));
        if (i >= 0) this.waiting.splice(i, 1)[0]?.resolve(pdu);
      }
    });
  }

  static open(port: number): Promise<RawEsme> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawEsme(socket)));
      socket.once('error', reject);
    });
  }

  send(pdu: Pdu): void {
    this.sent += 1;
    this.socket.write(encodePdu(pdu));
  }

  /** Sends a request and resolves with the PDU that answers its sequence number. */
  request(pdu: Pdu): Promise<Pdu> {
    const answer = this.next((p) => p.sequenceNumber === pdu.sequenceNumber && p.command !== 'deliver_sm');
    this.send(pdu);
    return answer;
  }

  next(match: (p: Pdu) => boolean): Promise<Pdu> {
    const seen = this.received.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiting.push({ match, resolve }));
  }

  close(): void {
    this.socket.end();
  }
}

const submitBase = {
  command: 'submit_sm',
  commandStatus: 0,
  serviceType: '',
  sourceAddrTon: 5,
  sourceAddrNpi: 0,
  sourceAddr: '8x8',
  destAddrTon: 1,
  destAddrNpi: 1,
  destinationAddr: '6591234567',
  esmClass: 0,
  protocolId: 0,
  priorityFlag: 0,
  scheduleDeliveryTime: '',
  validityPeriod: '',
  replaceIfPresentFlag: 0,
  smDefaultMsgId: 0,
  tlvs: [],
} as const;

// BMP only: Wireshark reads data_coding 8 as strict UCS-2 and shows a surrogate pair as U+FFFD.
const UCS2_TEXT = 'Привет, 你好, Ωμέγα';
const LONG_MO = 'Long MO number one two three, sent in three parts. '.repeat(7).trim();

async function exchange(smsc: IndependentSmsc, port: number): Promise<{ pdus: number; messageId: string }> {
  const esme = await RawEsme.open(port);
  await esme.request({ command: 'bind_transceiver', commandStatus: 0, sequenceNumber: 1, systemId: 'test', password: 'secret', systemType: '', interfaceVersion: 0x34, addrTon: 0, addrNpi: 0, addressRange: '' });
  const resp = await esme.request({ ...submitBase, sequenceNumber: 2, registeredDelivery: 1, dataCoding: 0, shortMessage: Buffer.from('Hello from tshark') });
  if (resp.command !== 'submit_sm_resp') throw new Error(`expected submit_sm_resp, got ${resp.command}`);
  await esme.next((p) => p.command === 'deliver_sm' && p.esmClass === 0x04);
  await esme.request({ ...submitBase, sequenceNumber: 3, registeredDelivery: 0, dataCoding: 8, shortMessage: ucs2(UCS2_TEXT) });
  await smsc.deliverConcatenatedGsm('6581000001', '6590001234', LONG_MO, 42);
  await smsc.deliverMo({ from: '6582000001', to: '6590001234', dataCoding: 8, shortMessage: ucs2(UCS2_TEXT) });
  await esme.request({ command: 'enquire_link', commandStatus: 0, sequenceNumber: 4 });
  await esme.request({ command: 'unbind', commandStatus: 0, sequenceNumber: 5 });
  esme.close();
  return { pdus: esme.sent + esme.received.length, messageId: resp.messageId };
}

function tshark(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('tshark', args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
}

async function main(): Promise<number> {
  if (spawnSync('tshark', ['--version']).error) {
    console.log('tshark not installed: nothing checked (apt-get install tshark to run this)');
    return 0;
  }
  const dir = mkdtempSync(join(tmpdir(), 'indep-smsc-'));
  const file = join(dir, 'exchange.pcapng');
  const smsc = new IndependentSmsc();
  const port = await smsc.start();
  const capture = spawn('tshark', ['-i', 'lo', '-f', `tcp port ${port}`, '-w', file, '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    capture.stderr.on('data', (d: Buffer) => d.toString().includes('Capturing on') && resolve());
    capture.once('exit', (code) => reject(new Error(`tshark exited ${code} before capturing`)));
  });
  // "Capturing on" comes before the capture filter is live: without a pause the first PDUs are missed.
  await new Promise((r) => setTimeout(r, 1500));
  const result = await exchange(smsc, port);
  await smsc.stop();
  // Let the last segments reach the capture before stopping it.
  await new Promise((r) => setTimeout(r, 500));
  const stopped = new Promise((r) => capture.once('exit', r));
  capture.kill('SIGINT');
  await stopped;

  const decodeAs = ['-d', `tcp.port==${port},smpp`];
  const fields = ['smpp.command_id', 'smpp.command_status', 'smpp.sequence_number', 'smpp.message_id', 'smpp.receipted_message_id', 'smpp.message_state', 'smpp.data_coding', 'gsm_sms.udh.mm.msg_id', 'gsm_sms.udh.mm.msg_parts', 'gsm_sms.udh.mm.msg_part', 'smpp.message_text', 'gsm_sms.sms_text'];
  const table = await tshark(['-r', file, ...decodeAs, '-Y', 'smpp', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=;', '-E', 'separator=|', ...fields.flatMap((f) => ['-e', f])]);
  const problems = await tshark(['-r', file, ...decodeAs, '-Y', '_ws.malformed || smpp.message_payload.duplicate || (_ws.expert && (smpp || gsm_sms || gsm_sms_ud))', '-T', 'fields', '-e', 'frame.number', '-e', '_ws.expert.message', '-e', '_ws.malformed']);
  if (process.env.KEEP_CAPTURE) console.log(`capture kept: ${file}`); else rmSync(dir, { recursive: true, force: true });

  const rows = table.trim().split('\n').map((line) => line.split('|'));
  const column = (name: string) => rows.flatMap((r) => (r[fields.indexOf(name)] ?? '').split(';').filter((v) => v !== ''));
  const commands = column('smpp.command_id');
  const failures: string[] = [];
  const expect = (ok: boolean, what: string) => ok || failures.push(what);
  expect(problems.trim() === '', `malformed or expert-flagged packets:\n${problems}`);
  expect(commands.length === result.pdus, `tshark dissected ${commands.length} PDUs, ${result.pdus} were sent`);
  expect(column('smpp.receipted_message_id').includes(result.messageId), `receipted_message_id ${result.messageId} not dissected: ${column('smpp.receipted_message_id').join(', ')}`);
  expect(column('smpp.message_state').includes('2'), `message_state 2 not dissected: ${column('smpp.message_state').join(', ')}`);
  expect(column('gsm_sms.udh.mm.msg_part').join(',') === '1,2,3' && column('gsm_sms.udh.mm.msg_parts').every((n) => n === '3'), `UDH parts: ${column('gsm_sms.udh.mm.msg_part').join(',')} of ${column('gsm_sms.udh.mm.msg_parts').join(',')}`);
  expect(column('gsm_sms.udh.mm.msg_id').every((id) => id === '42'), `UDH reference: ${column('gsm_sms.udh.mm.msg_id').join(',')}`);
  const texts = [...column('smpp.message_text'), ...column('gsm_sms.sms_text')];
  expect(texts.filter((t) => t.includes(UCS2_TEXT)).length === 2, `UCS-2 text not dissected as "${UCS2_TEXT}" twice: ${JSON.stringify(texts)}`);

  console.log(`capture of ${commands.length} PDUs as Wireshark ${spawnSync('tshark', ['--version']).stdout.toString().split('\n')[0]} dissected them:`);
  for (const r of rows) console.log(`  ${r.map((v, i) => (v ? `${fields[i]}=${v}` : '')).filter(Boolean).join('  ')}`);
  if (failures.length > 0) {
    console.error(`\nFAILED:\n- ${failures.join('\n- ')}`);
    return 1;
  }
  console.log('\nOK: every PDU dissected, none malformed, no expert warning, receipt TLVs, UDH and UCS-2 text read back as sent');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
