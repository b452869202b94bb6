import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ChildService {
  process: ChildProcess;
  /** Every JSON log line, parsed. */
  logs: Array<Record<string, unknown>>;
  /** Raw stdout + stderr text, for searching. */
  output(): string;
  /** Resolves with the first log line that matches. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends the signal and resolves with the exit code and how long it took. */
  signal(sig: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
  stop(): Promise<void>;
}

/** Runs the production entry point (`service/src/main.ts`) as its own process, as ECS would. */
export function startChildService(env: Record<string, string>): ChildService {
  const child = spawn(process.execPath, ['--import', 'tsx', 'service/src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let text = '';
  const waiters = new Set<(line: Record<string, unknown>) => void>();
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      text += `${line}\n`;
      if (!line.startsWith('{')) return;
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        logs.push(parsed);
        for (const w of waiters) w(parsed);
      } catch {
        // not a log line
      }
    });
  }
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    process: child,
    logs,
    output: () => text,
    waitForLog(match, timeoutMs = 20_000) {
      const seen = logs.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`log line not seen in ${timeoutMs} ms; output so far:\n${text.slice(-3000)}`));
        }, timeoutMs);
        const check = (line: Record<string, unknown>) => {
          if (!match(line)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(line);
        };
        waiters.add(check);
        void exited.then(() => {
          if (!waiters.has(check)) return;
          clearTimeout(timer);
          waiters.delete(check);
          reject(new Error(`service exited before the log line; output:\n${text.slice(-3000)}`));
        });
      });
    },
    async signal(sig) {
      const started = Date.now();
      child.kill(sig);
      const [code] = await exited;
      return { code, ms: Date.now() - started };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
