/**
 * Error families with stable, machine-readable codes (one registry, fastify style).
 * Each error keeps the original as `cause` and says whether retrying can help.
 */
export const ErrorCode = {
  CONFIG_INVALID: 'CONFIG_INVALID',
  JOB_INVALID: 'JOB_INVALID',
  ENCODING_UNREPRESENTABLE: 'ENCODING_UNREPRESENTABLE',
  SMPP_BIND_AUTH: 'SMPP_BIND_AUTH',
  SMPP_BIND_REFUSED: 'SMPP_BIND_REFUSED',
  SMPP_BIND_TRANSIENT: 'SMPP_BIND_TRANSIENT',
  SMPP_CONNECT: 'SMPP_CONNECT',
  SMPP_TIMEOUT: 'SMPP_TIMEOUT',
  SMPP_CLOSED: 'SMPP_CLOSED',
  SMPP_PROTOCOL: 'SMPP_PROTOCOL',
  QUEUE: 'QUEUE',
  STORE: 'STORE',
  SECRET: 'SECRET',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ConnectorErrorOptions extends ErrorOptions {
  retryable?: boolean;
}

/** Base of every error the connector raises on purpose. */
export class ConnectorError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, options: ConnectorErrorOptions = {}) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** Start-up configuration problems; `problems` lists every one found. */
export class ConfigError extends ConnectorError {
  constructor(readonly problems: readonly string[]) {
    super(ErrorCode.CONFIG_INVALID, `invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/** Text that cannot be carried in the encoding the job asked for. */
export class EncodingError extends ConnectorError {
  constructor(message: string) {
    super(ErrorCode.ENCODING_UNREPRESENTABLE, message);
  }
}

/** Anything wrong on an SMPP link. */
export class SmppError extends ConnectorError {}

/** A bind that failed; `commandStatus` is the bind response's command_status when there was one. */
export class BindError extends SmppError {
  constructor(
    code: typeof ErrorCode.SMPP_BIND_AUTH | typeof ErrorCode.SMPP_BIND_REFUSED | typeof ErrorCode.SMPP_BIND_TRANSIENT | typeof ErrorCode.SMPP_CONNECT,
    message: string,
    readonly commandStatus?: number,
    options: ConnectorErrorOptions = {},
  ) {
    super(code, message, { retryable: true, ...options });
  }
}

/** SQS adapter failures. */
export class QueueError extends ConnectorError {
  constructor(message: string, options: ConnectorErrorOptions = {}) {
    super(ErrorCode.QUEUE, message, { retryable: true, ...options });
  }
}

/** DynamoDB adapter failures. */
export class StoreError extends ConnectorError {
  constructor(message: string, options: ConnectorErrorOptions = {}) {
    super(ErrorCode.STORE, message, { retryable: true, ...options });
  }
}
