import { startChild, type Child } from './children.js';
import type { SimCounters, SimSettings } from './sim-child.js';

/** The account every bench run binds with. */
export const SIM_ACCOUNT = { systemId: 'bench', password: 'secret' } as const;

/** A simulator process; `start` (re)creates the simulator inside it with new settings. */
export interface SimProcess {
  start(settings: Partial<SimSettings> & Pick<SimSettings, 'mps'>): Promise<number>;
  counters(): Promise<SimCounters>;
  takeAcceptances(): Promise<number[]>;
  drop(): Promise<number>;
  /** Stops the simulator and the process. */
  close(): Promise<void>;
}

export async function startSimProcess(): Promise<SimProcess> {
  const child: Child = await startChild('test/bench/sim-child.ts');
  return {
    start: (s) =>
      child
        .call<{ port: number }>('start', {
          maxBinds: 4,
          responseDelayMs: 0,
          receiptDelayMs: 0,
          seed: Math.floor(Math.random() * 2 ** 31),
          recordAcceptances: false,
          ...s,
        } satisfies SimSettings)
        .then((r) => r.port),
    counters: () => child.call<SimCounters>('counters'),
    takeAcceptances: () => child.call<number[]>('takeAcceptances'),
    drop: () => child.call<number>('drop'),
    close: async () => {
      await child.call('stop', undefined, 10_000).catch(() => undefined);
      await child.stop();
    },
  };
}
