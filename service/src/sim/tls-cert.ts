import { generate } from 'selfsigned';

/** A PEM key and certificate for a TLS listener. */
export interface TlsKeyPair {
  key: string;
  cert: string;
}

/**
 * A self-signed certificate for CN=localhost with SAN DNS:localhost and
 * IP:127.0.0.1, so clients can verify the host name against it after trusting
 * it through `ca`. EC P-256 because generating it takes milliseconds, not the
 * second or so an RSA key costs on a small machine.
 */
export async function generateLocalhostCertificate(validDays = 30): Promise<TlsKeyPair> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + validDays * 86_400_000);
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
