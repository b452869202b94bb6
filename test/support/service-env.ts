/** The service settings tests and the fault matrix start from (no vitest import: the fault runner uses it too). */
export function serviceEnv(port: number, queueUrl: string, tableName: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SMPP_HOST: '127.0.0.1',
    SMPP_PORT: String(port),
    SMPP_TLS: 'false',
    SMPP_SYSTEM_ID: 'test',
    SMPP_PASSWORD: 'secret',
    OUTBOUND_QUEUE_URL: queueUrl,
    MESSAGES_TABLE: tableName,
    AWS_REGION: 'us-east-1',
    HEALTH_PORT: '0',
    MPS_PER_BIND: '500',
    WINDOW_SIZE: '20',
    RESPONSE_TIMEOUT_MS: '2000',
    ENQUIRE_LINK_INTERVAL_MS: '5000',
    // Shorter than the production 20 s: a stop waits up to half the grace for an empty long poll,
    // and every test and fault ends by stopping its services. Those about stopping set their own.
    SHUTDOWN_GRACE_MS: '5000',
    ...extra,
  };
}
