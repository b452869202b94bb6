/**
 * DynamoDB Local (AWS's own engine, with Streams and TTL) as a child JVM, for local runs and tests.
 * docs/architecture.md §6: the jar ships in npm `amplify-dynamodb-simulator` under `emulator/`.
 */
import { execFile, spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

const execFileAsync = promisify(execFile);

const SIMULATOR_PACKAGE = 'amplify-dynamodb-simulator@2.9.30';
const JAR = 'DynamoDBLocal.jar';
const READY_TIMEOUT_MS = 30_000;
const JAVA_MISSING = 'Java 17+ is needed for DynamoDB Local: apt-get install openjdk-17-jre-headless';

/** `<repo>/.cache/dynamodb-local` (git-ignored). */
export const DEFAULT_DYNAMODB_LOCAL_DIR = fileURLToPath(new URL('../../../.cache/dynamodb-local', import.meta.url));

/**
 * Makes sure `<cacheDir>/DynamoDBLocal.jar` (and its native libraries beside it) exist; returns the jar's path.
 *
 * We `npm pack` the simulator and extract only `package/emulator/` instead of installing it: a full
 * install pulls ~350 MB of unrelated Amplify dependencies for a 64 MB jar directory, while pack + extract
 * takes ~3 s and leaves package.json alone.
 *
 * Safe when several processes race (parallel test runs): each extracts into its own temporary directory
 * beside `cacheDir` and renames it into place; `rename` is atomic, so the loser finds a complete jar.
 */
export async function ensureDynamoDbLocalJar(cacheDir: string = DEFAULT_DYNAMODB_LOCAL_DIR): Promise<string> {
  const jar = join(cacheDir, JAR);
  if (await exists(jar)) return jar;

  const parent = dirname(cacheDir);
  await mkdir(parent, { recursive: true });
  const packDir = await mkdtemp(join(tmpdir(), 'dynamodb-local-pack-'));
  // Same file system as cacheDir, so the final rename is atomic.
  const stageDir = await mkdtemp(join(parent, '.dynamodb-local-stage-'));
  try {
    await execFileAsync('npm', ['pack', SIMULATOR_PACKAGE, '--silent', '--pack-destination', packDir], {
      cwd: packDir,
      maxBuffer: 1024 * 1024,
    });
    const tarball = (await readdir(packDir)).find((f) => f.endsWith('.tgz'));
    if (tarball === undefined) throw new Error(`npm pack ${SIMULATOR_PACKAGE} produced no tarball in ${packDir}`);
    await execFileAsync('tar', ['-xzf', join(packDir, tarball), '-C', stageDir, 'package/emulator']);
    const extracted = join(stageDir, 'package', 'emulator');
    if (!(await exists(join(extracted, JAR)))) throw new Error(`${SIMULATOR_PACKAGE} has no emulator/${JAR}`);
    await moveIntoPlace(extracted, cacheDir, jar);
    return jar;
  } finally {
    await rm(packDir, { recursive: true, force: true });
    await rm(stageDir, { recursive: true, force: true });
  }
}

async function moveIntoPlace(from: string, to: string, jar: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if (!isErrno(err, 'ENOTEMPTY') && !isErrno(err, 'EEXIST')) throw err;
    if (await exists(jar)) return; // another process won the race with a complete copy
    // A leftover without the jar (e.g. an interrupted manual copy): set it aside, then take its place.
    const aside = `${to}.broken-${process.pid}-${Date.now()}`;
    await rename(to, aside);
    await rm(aside, { recursive: true, force: true });
    try {
      await rename(from, to);
    } catch (again) {
      if (!(await exists(jar))) throw again;
    }
  }
}

export interface DynamoDbLocalOptions {
  /** TCP port; 0 picks a free one. @defaultvalue 0 */
  port?: number;
  /** Where the jar lives (downloaded on first use). @defaultvalue `<repo>/.cache/dynamodb-local` */
  cacheDir?: string;
}

export interface DynamoDbLocal {
  /** e.g. `http://127.0.0.1:41234`, for `AWS_ENDPOINT_URL_DYNAMODB`. */
  endpoint: string;
  port: number;
  /** Kills the JVM and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts an in-memory DynamoDB Local and resolves once it answers ListTables (30 s at most).
 * `-sharedDb` makes every client see the same tables whatever its region or access key, so a CLI
 * with other dummy credentials reads what the service wrote. The JVM is killed on `stop()` and when
 * this process exits.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  await checkJava();
  const jar = await ensureDynamoDbLocalJar(options.cacheDir);
  // A free port picked by us can be taken before the JVM binds it; retry that race a few times.
  const attempts = options.port === undefined || options.port === 0 ? 3 : 1;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const port = options.port !== undefined && options.port !== 0 ? options.port : await freePort();
    try {
      return await launch(jar, port);
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

async function checkJava(): Promise<void> {
  try {
    await execFileAsync('java', ['-version']);
  } catch (err) {
    throw new Error(JAVA_MISSING, { cause: err });
  }
}

async function launch(jar: string, port: number): Promise<DynamoDbLocal> {
  const dir = dirname(jar);
  const child = spawn(
    'java',
    [`-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`, '-jar', JAR, '-inMemory', '-sharedDb', '-port', String(port), '-disableTelemetry'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let running = true;
  void exited.then(() => {
    running = false;
  });

  const killOnExit = (): void => {
    if (running) child.kill('SIGKILL');
  };
  const killOnSignal = (signal: NodeJS.Signals): void => {
    killOnExit();
    removeHooks();
    // Keep the default behaviour (terminate) unless someone else handles the signal.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const removeHooks = (): void => {
    process.removeListener('exit', killOnExit);
    process.removeListener('SIGINT', killOnSignal);
    process.removeListener('SIGTERM', killOnSignal);
  };
  process.on('exit', killOnExit);
  process.once('SIGINT', killOnSignal);
  process.once('SIGTERM', killOnSignal);

  const stop = async (): Promise<void> => {
    removeHooks();
    if (running) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(endpoint, () => running, () => output);
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoint, port, stop };
}

/** Readiness probe: ListTables with a short backoff, until it answers or 30 s pass. */
async function waitUntilReady(endpoint: string, isRunning: () => boolean, output: () => string): Promise<void> {
  // The probe talks to the emulator it just started, so it names the endpoint itself instead of
  // reading AWS_ENDPOINT_URL_DYNAMODB (which the caller sets only after this resolves).
  const probe = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let delay = 50;
  try {
    for (;;) {
      if (!isRunning()) throw new Error(`DynamoDB Local exited before it was ready:\n${output()}`);
      try {
        await probe.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2_000) });
        return;
      } catch (err) {
        if (Date.now() + delay > deadline) {
          throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${READY_TIMEOUT_MS} ms:\n${output()}`, { cause: err });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 500);
    }
  } finally {
    probe.destroy();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}
