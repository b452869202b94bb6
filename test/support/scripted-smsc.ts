/**
 * A tiny SMSC for operator-tool tests, for what the simulator cannot do: send a submit's receipt
 * several times or not at all, and tell a deliver_sm_resp written before the unbind from one
 * written after it (the simulator still reads the latter; a real SMSC has stopped listening and
 * redelivers the receipt later).
 */
import type { AddressInfo } from 'node:net';
import { makePdu, smpp, type Pdu, type Session } from '../../service/src/smpp/codec.js';

export interface ScriptedSmscOptions {
  /** Copies of its receipt the n-th submit (0-based) gets. @defaultvalue 1 */
  copiesOf?: (n: number) => number;
  /**
   * When set, the submit is answered first and its receipts follow this many ms later. When
   * absent, the receipts go first and the submit is answered once each one is acknowledged, so a
   * client holding all its submit responses has already handled every receipt (no timing involved).
   */
  receiptDelayMs?: number;
}

export interface ScriptedSmsc {
  port: number;
  /** SMSC message ids handed out, in submit order. */
  readonly ids: readonly string[];
  /** Receipts acknowledged with status 0 before their session's unbind. */
  readonly acked: number;
  /** deliver_sm_resp that came after the unbind on their session: too late, the receipt is not acknowledged. */
  readonly answeredAfterUnbind: number;
  stop(): Promise<void>;
}

export async function startScriptedSmsc(options: ScriptedSmscOptions = {}): Promise<ScriptedSmsc> {
  const copiesOf = options.copiesOf ?? (() => 1);
  const ids: string[] = [];
  const receivers: Session[] = [];
  const unbound = new WeakSet<Session>();
  let acked = 0;
  let answeredAfterUnbind = 0;

  const deliver = (receiver: Session, id: string): Promise<void> =>
    new Promise((resolve) => {
      const text = `id:${id} sub:001 dlvrd:001 submit date:2311261200 done date:2311261201 stat:DELIVRD err:000 text:`;
      const pdu = makePdu('deliver_sm', {
        source_addr: '6591234567',
        destination_addr: '8x8',
        esm_class: 0x04,
        short_message: Buffer.from(text, 'latin1'),
        receipted_message_id: id,
        message_state: 2,
      });
      const sent = receiver.send(pdu, (resp: Pdu) => {
        if (unbound.has(receiver)) answeredAfterUnbind += 1;
        else if (resp.command_status === 0) acked += 1;
        resolve();
      });
      if (!sent) resolve();
    });

  const receipts = async (n: number, id: string): Promise<void> => {
    const receiver = receivers[0];
    for (let i = 0; receiver && i < copiesOf(n); i++) await deliver(receiver, id);
  };

  const server = smpp.createServer({}, (session: Session) => {
    session.on('error', () => undefined);
    session.on('pdu', (pdu: Pdu) => {
      if (pdu.isResponse()) return;
      switch (pdu.command) {
        case 'bind_transmitter':
        case 'bind_receiver':
        case 'bind_transceiver':
          if (pdu.command !== 'bind_transmitter') receivers.push(session);
          session.send(pdu.response({ system_id: 'SCRIPTED' }));
          return;
        case 'enquire_link':
          session.send(pdu.response());
          return;
        case 'unbind':
          unbound.add(session);
          if (receivers.includes(session)) receivers.splice(receivers.indexOf(session), 1);
          session.send(pdu.response(), () => session.close());
          return;
        case 'submit_sm': {
          const n = ids.length;
          // Hex ids with letters, as 8x8 writes them.
          const id = (0xa0000000 + n).toString(16).toUpperCase();
          ids.push(id);
          const { receiptDelayMs } = options;
          if (receiptDelayMs === undefined) {
            void receipts(n, id).then(() => session.send(pdu.response({ message_id: id })));
          } else {
            session.send(pdu.response({ message_id: id }));
            setTimeout(() => void receipts(n, id), receiptDelayMs);
          }
          return;
        }
        default:
          session.send(pdu.response({ command_status: 0x03 }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    ids,
    get acked() {
      return acked;
    },
    get answeredAfterUnbind() {
      return answeredAfterUnbind;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of [...server.sessions]) s.destroy();
        server.close(() => resolve());
      }),
  };
}
