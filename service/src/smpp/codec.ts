import smpp from 'smpp';

/**
 * The one place that touches the `smpp` package's globals.
 *
 * The package decodes `short_message` / `message_payload` with its own idea of
 * encodings (GSM text as data_coding 1, no extension table, UDH split by guess).
 * We encode and decode message bodies ourselves, so both fields travel as raw
 * bytes: a Buffer passes its encode filter untouched, and we drop the decode
 * filter here. Importing this module is what makes that true; every module that
 * builds or reads PDUs imports `smpp` through it.
 */
const rawMessage = { encode: (v: unknown) => v, decode: (v: unknown) => v };
for (const command of Object.values(smpp.commands)) {
  const param = command.params?.['short_message'];
  if (param) param.filter = rawMessage;
}
const payload = smpp.tlvs['message_payload'];
if (payload) payload.filter = rawMessage;

/**
 * C-Octet String TLVs (SMPP 3.4 §5.3.2 and 5.0 §4.8.4). The package reads them up to the first
 * NUL whatever their declared length, so an SMSC that leaves the terminator out makes it read
 * on into the next TLV — and a receipted_message_id picks up that TLV's tag. We read the
 * declared length only, then cut at the terminator or any other control character (neither
 * belongs in an id or a network name). Writing is unchanged: value plus NUL.
 */
const C_OCTET_STRING_TLVS = ['receipted_message_id', 'additional_status_info_text', 'source_network_id', 'dest_network_id'];

/** A TLV's value text: its declared octets, up to the first control character (NUL included). */
export function tlvCOctetString(buffer: Buffer, offset: number, length: number): string {
  const limit = Math.min(buffer.length, offset + length);
  let end = offset;
  while (end < limit && (buffer[end] as number) >= 0x20 && buffer[end] !== 0x7f) end++;
  return buffer.toString('latin1', offset, end);
}

for (const name of C_OCTET_STRING_TLVS) {
  const def = smpp.tlvs[name];
  if (!def) throw new Error(`smpp codec: TLV ${name} is not defined (package changed?)`);
  def.type = { ...(def.type as object), read: tlvCOctetString };
}

export { smpp };
export type { Pdu, Session, Server } from 'smpp';

/** Builds a PDU through the package's codec (never by hand: the codec is the package's, the behaviour ours). */
export function makePdu(command: string, fields: Record<string, unknown> = {}): import('smpp').Pdu {
  return new smpp.PDU(command, fields);
}

/** Decodes one complete PDU from bytes; returns undefined when the buffer is not a whole PDU. */
export function decodePdu(bytes: Buffer): import('smpp').Pdu | undefined {
  const pdu = smpp.PDU.fromBuffer(bytes);
  return pdu === false ? undefined : pdu;
}
