import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

/** The narrow logger interface modules depend on (pino satisfies it). */
export interface Logger {
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  fatal(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/**
 * Secrets never reach a log line even when a whole object is logged by mistake:
 * pino removes these paths before serialising. Message text is simply never
 * passed to the logger; phone numbers go through maskAddress.
 */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'credentials',
  '*.credentials',
  'secret',
  '*.secret',
  'SecretString',
  '*.SecretString',
  'text',
  '*.text',
  'short_message',
  '*.short_message',
  'message_payload',
  '*.message_payload',
];

export function createLogger(level: string, destination?: DestinationStream): PinoLogger {
  return pino(
    {
      level,
      base: { service: 'smpp-connector' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** A logger that drops everything (library default, tests that do not inspect logs). */
export const silentLogger: Logger = pino({ level: 'silent' });
