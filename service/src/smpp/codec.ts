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

export { smpp };
export type { Pdu, Session, Server } from 'smpp';

/** Builds a PDU through the package's codec (never by hand: DESIGN "the codec is the smpp package's"). */
export function makePdu(command: string, fields: Record<string, unknown> = {}): import('smpp').Pdu {
  return new smpp.PDU(command, fields);
}

/** Decodes one complete PDU from bytes; returns undefined when the buffer is not a whole PDU. */
export function decodePdu(bytes: Buffer): import('smpp').Pdu | undefined {
  const pdu = smpp.PDU.fromBuffer(bytes);
  return pdu === false ? undefined : pdu;
}
