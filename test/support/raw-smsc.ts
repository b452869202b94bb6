/**
 * A scripted SMSC on raw TCP for tests that need exact bytes and exact ordering on the wire: it
 * answers binds, enquire_link, unbind and submit_sm like a plain SMSC unless `answer` says
 * otherwise, writes whatever bytes a test gives it (a PDU the codec cannot decode, say), and
 * records every PDU the client sends, in order.
 */
import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { decodePdu, type Pdu } from '../../service/src/smpp/codec.js';

/** A PDU the client sent, in arrival order. */
export interface RawReceived {
  connection: number;
  command: string;
  commandStatus: number;
  sequenceNumber: number;
}

/** The bytes to send back for a request, `null` for no answer at all, or undefined for the normal answer. */
export type RawAnswer = (pdu: Pdu) => Buffer | null | undefined;

export class RawSmsc extends EventEmitter<{ changed: [] }> {
  readonly received: RawReceived[] = [];
  connections = 0;
  binds = 0;
  answer: RawAnswer | undefined;
  private server: Server | undefined;
  private socket: Socket | undefined;
  private readonly sockets = new Set<Socket>();
  private nextId = 0x1000;

  async start(): Promise<number> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Writes raw bytes on the latest connection. */
  write(bytes: Buffer): void {
    if (!this.socket || this.socket.destroyed) throw new Error('raw SMSC: no connection');
    this.socket.write(bytes);
  }

  /** PDUs received with this command. */
  count(command: string): number {
    return this.received.filter((r) => r.command === command).length;
  }

  /** Resolves once `predicate` holds, re-checked on every PDU and connection change; rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.off('changed', check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.off('changed', check);
        reject(new Error(`raw SMSC: ${what} not reached in ${timeoutMs} ms; received ${this.received.map((r) => r.command).join(', ')}`));
      }, timeoutMs);
      this.on('changed', check);
    });
  }

  private accept(socket: Socket): void {
    const connection = ++this.connections;
    this.socket = socket;
    this.sockets.add(socket);
    let buffer = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.emit('changed');
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 4 && buffer.length >= buffer.readUInt32BE(0)) {
        const length = buffer.readUInt32BE(0);
        const pdu = decodePdu(Buffer.from(buffer.subarray(0, length)));
        buffer = buffer.subarray(length);
        if (pdu) this.onPdu(socket, connection, pdu);
      }
    });
    this.emit('changed');
  }

  private onPdu(socket: Socket, connection: number, pdu: Pdu): void {
    this.received.push({ connection, command: pdu.command, commandStatus: pdu.command_status, sequenceNumber: pdu.sequence_number });
    if (!pdu.isResponse()) {
      const custom = this.answer?.(pdu);
      if (custom === undefined) this.answerNormally(socket, pdu);
      else if (custom !== null) socket.write(custom);
    }
    this.emit('changed');
  }

  private answerNormally(socket: Socket, pdu: Pdu): void {
    if (pdu.command.startsWith('bind_')) {
      this.binds += 1;
      socket.write(pdu.response({ system_id: 'RAWSMSC' }).toBuffer());
    } else if (pdu.command === 'submit_sm') {
      socket.write(pdu.response({ message_id: (this.nextId++).toString(16).toUpperCase() }).toBuffer());
    } else if (pdu.command === 'unbind') {
      socket.end(pdu.response().toBuffer());
    } else {
      socket.write(pdu.response().toBuffer());
    }
  }
}
