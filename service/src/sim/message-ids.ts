import { nextUint32, type Prng } from './prng.js';

/** How an SMSC renders its 64-bit message ids. */
export type IdFormat = 'hex' | 'decimal';

const MASK_64 = (1n << 64n) - 1n;

/** Renders an id as uppercase hex (no leading zeros) or as decimal. */
export function renderMessageId(id: bigint, format: IdFormat): string {
  return format === 'hex' ? id.toString(16).toUpperCase() : id.toString(10);
}

/**
 * A 64-bit message id counter that starts from a random value, as SMSCs do, so
 * ids are large and (in hex) usually contain letters — the case in which a
 * receipt that writes the same id in decimal cannot be matched naively.
 */
export class MessageIdAllocator {
  private next: bigint;

  constructor(prng: Prng) {
    // Start between 2^40 and 2^62: big enough to need BigInt, far from wrapping.
    const high = BigInt(nextUint32(prng) & 0x3fffffff) | 0x100n;
    this.next = (high << 32n) | BigInt(nextUint32(prng));
  }

  /** Returns a fresh id and advances the counter (wrapping at 2^64). */
  allocate(): bigint {
    const id = this.next;
    this.next = (this.next + 1n) & MASK_64;
    return id;
  }
}
