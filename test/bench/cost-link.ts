/**
 * A loopback TCP proxy between the service and the simulator that counts what crosses the SMPP link
 * in each direction: bytes (TLS included: what a NAT gateway processes, less the packet headers) and
 * TLS records, from which the bench estimates packets and their headers (README, "Cost per million
 * messages").
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/** Counts TLS records in one direction of a byte stream: a 5-byte header (type, version, length) and its body. */
export class TlsRecordCounter {
  records = 0;
  #header = Buffer.alloc(5);
  #headerFill = 0;
  #bodyLeft = 0;

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#bodyLeft > 0) {
        const take = Math.min(this.#bodyLeft, chunk.length - i);
        this.#bodyLeft -= take;
        i += take;
        continue;
      }
      const take = Math.min(5 - this.#headerFill, chunk.length - i);
      chunk.copy(this.#header, this.#headerFill, i, i + take);
      this.#headerFill += take;
      i += take;
      if (this.#headerFill === 5) {
        this.records += 1;
        this.#bodyLeft = this.#header.readUInt16BE(3);
        this.#headerFill = 0;
      }
    }
  }
}

export interface LinkCounts {
  /** Service → SMSC. */
  upBytes: number;
  upRecords: number;
  /** SMSC → service. */
  downBytes: number;
  downRecords: number;
  connections: number;
}

export interface CountingLink {
  port: number;
  /** Counts since the last reset. */
  counts(): LinkCounts;
  reset(): void;
  stop(): Promise<void>;
}

export async function startCountingLink(targetPort: number): Promise<CountingLink> {
  const sockets = new Set<Socket>();
  let totals: LinkCounts = { upBytes: 0, upRecords: 0, downBytes: 0, downRecords: 0, connections: 0 };
  // Record counters live per connection (a record can span chunks); their counts are read at reset and at the end.
  const counters = new Set<{ up: TlsRecordCounter; down: TlsRecordCounter; base: { up: number; down: number } }>();
  const server = createServer((client) => {
    totals.connections += 1;
    const upstream = connect(targetPort, '127.0.0.1');
    const c = { up: new TlsRecordCounter(), down: new TlsRecordCounter(), base: { up: 0, down: 0 } };
    counters.add(c);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (chunk: Buffer) => {
      totals.upBytes += chunk.length;
      c.up.push(chunk);
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk: Buffer) => {
      totals.downBytes += chunk.length;
      c.down.push(chunk);
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    counts() {
      let up = 0;
      let down = 0;
      for (const c of counters) {
        up += c.up.records - c.base.up;
        down += c.down.records - c.base.down;
      }
      return { ...totals, upRecords: up, downRecords: down };
    },
    reset() {
      totals = { upBytes: 0, upRecords: 0, downBytes: 0, downRecords: 0, connections: 0 };
      for (const c of counters) c.base = { up: c.up.records, down: c.down.records };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
