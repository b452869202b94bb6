/**
 * Helper processes of the bench (SMSC simulator, fauxqs + producer, soak client), driven by
 * request/response messages over the Node IPC channel. They run apart from the bench process so
 * that `process.cpuUsage()` and RSS of the bench process are the connector's alone.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Request {
  id: number;
  cmd: string;
  args: unknown;
}

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** What a child answers to: one async function per command. */
export type Handlers = Record<string, (args: never) => unknown>;

/**
 * Child side: answers requests with `handlers` and announces itself ready. It exits when the parent
 * goes away (the IPC channel closes), so a killed bench never leaves a helper behind.
 */
export function serve(handlers: Handlers): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('this module runs as a child of the bench (no IPC channel)');
  process.on('message', (message: Request) => {
    const handler = handlers[message.cmd] as ((args: unknown) => unknown) | undefined;
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown command ${message.cmd}`);
        return handler(message.args);
      })
      .then(
        (result) => send({ id: message.id, ok: true, result } satisfies Reply),
        (err: unknown) => send({ id: message.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies Reply),
      );
  });
  process.on('disconnect', () => process.exit(0));
  send({ ready: true });
}

/** Parent side of one helper process. */
export interface Child {
  readonly pid: number;
  call<T>(cmd: string, args?: unknown, timeoutMs?: number): Promise<T>;
  /** Asks the child to exit (closing the channel), then kills it if it lingers. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Forks `file` (relative to the repository root, or to `root`: another checkout, whose own
 * node_modules and tsx then resolve) under tsx with an IPC channel; resolves once the child is
 * ready. The child is killed when this process exits, whatever the reason.
 */
export function startChild(file: string, opts: { execArgv?: string[]; readyTimeoutMs?: number; root?: string } = {}): Promise<Child> {
  const child: ChildProcess = fork(file, [], {
    cwd: opts.root ?? ROOT,
    execArgv: ['--import', 'tsx', ...(opts.execArgv ?? [])],
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pid = child.pid ?? -1;
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      process.removeListener('exit', killOnExit);
      resolve();
    }),
  );

  let nextId = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  const failAll = (why: string): void => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.reject(new Error(`${file}: ${why}`));
      pending.delete(id);
    }
  };
  void exited.then(() => failAll('child exited'));

  return new Promise((resolveReady, rejectReady) => {
    const readyTimer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectReady(new Error(`${file} not ready within ${opts.readyTimeoutMs ?? 30_000} ms`));
    }, opts.readyTimeoutMs ?? 30_000);
    void exited.then(() => {
      clearTimeout(readyTimer);
      rejectReady(new Error(`${file} exited before it was ready`));
    });
    child.on('message', (message: Reply | { ready: true }) => {
      if ('ready' in message) {
        clearTimeout(readyTimer);
        resolveReady(handle);
        return;
      }
      const p = pending.get(message.id);
      if (!p) return;
      pending.delete(message.id);
      clearTimeout(p.timer);
      if (message.ok) p.resolve(message.result);
      else p.reject(new Error(`${file}: ${message.error}`));
    });

    let stopping: Promise<void> | undefined;
    const handle: Child = {
      pid,
      call<T>(cmd: string, args?: unknown, timeoutMs = 60_000): Promise<T> {
        if (!child.connected) return Promise.reject(new Error(`${file}: not running`));
        const id = nextId++;
        return new Promise<T>((resolve, reject) => {
          const timer = setTimeout(() => {
            pending.delete(id);
            reject(new Error(`${file}: ${cmd} got no answer within ${timeoutMs} ms`));
          }, timeoutMs);
          pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
          child.send({ id, cmd, args } satisfies Request);
        });
      },
      stop() {
        stopping ??= (async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          if (child.connected) child.disconnect();
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
        })();
        return stopping;
      },
    };
  });
}
