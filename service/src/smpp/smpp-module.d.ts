// smpp 0.5.1 ships no type definitions; this declares only the surface we use.
declare module 'smpp' {
  import type { EventEmitter } from 'node:events';
  import type { Socket } from 'node:net';

  /** A decoded PDU: header fields plus the command's parameters and TLVs by name. */
  export interface Pdu {
    command: string;
    command_id: number;
    command_status: number;
    sequence_number: number;
    command_length: number;
    [field: string]: unknown;
    isResponse(): boolean;
    response(options?: Record<string, unknown>): Pdu;
    toBuffer(): Buffer;
  }

  export class PDU implements Pdu {
    constructor(command: string | Buffer, options?: Record<string, unknown>);
    command: string;
    command_id: number;
    command_status: number;
    sequence_number: number;
    command_length: number;
    [field: string]: unknown;
    isResponse(): boolean;
    response(options?: Record<string, unknown>): Pdu;
    toBuffer(): Buffer;
    static maxLength: number;
    static fromBuffer(buffer: Buffer): PDU | false;
  }

  export interface Session extends EventEmitter {
    socket: Socket;
    server?: Server;
    send(pdu: Pdu, responseCallback?: (pdu: Pdu) => void, sendCallback?: (pdu: Pdu) => void): boolean;
    pause(): void;
    resume(): void;
    close(callback?: () => void): void;
    destroy(callback?: () => void): void;
  }

  export interface Server extends EventEmitter {
    sessions: Session[];
    listen(port: number, host?: string, callback?: () => void): this;
    listen(port: number, callback?: () => void): this;
    close(callback?: (err?: Error) => void): this;
    address(): import('node:net').AddressInfo | string | null;
  }

  export function connect(options: Record<string, unknown>, listener?: () => void): Session;
  export function createServer(options: Record<string, unknown>, listener?: (session: Session) => void): Server;

  export const commands: Record<string, { id: number; params?: Record<string, { type: unknown; filter?: unknown; default?: unknown }> }>;
  export const tlvs: Record<string, { id: number; filter?: unknown; type: unknown }>;
  export const errors: Record<string, number>;
  export const consts: Record<string, unknown>;

  const smpp: {
    PDU: typeof PDU;
    connect: typeof connect;
    createServer: typeof createServer;
    commands: typeof commands;
    tlvs: typeof tlvs;
    errors: typeof errors;
    consts: typeof consts;
  };
  export default smpp;
}
