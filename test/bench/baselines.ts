/**
 * The two reference points of the engine scenario, written directly on the bare `smpp` package
 * (through our codec module, which only makes short_message travel as raw bytes): what anyone
 * would write in a few lines. They send the very fields our client sends, so the bytes on the
 * wire are the same; they have no timeouts, no pacing and no reconnects.
 */
import { makePdu, smpp, type Pdu, type Session } from '../../service/src/smpp/codec.js';
import { SIM_ACCOUNT } from './sim-process.js';

/** Opens `binds` transmitter sessions on the bare package. */
export async function bareBinds(port: number, binds: number): Promise<Session[]> {
  return Promise.all(Array.from({ length: binds }, () => bindTransmitter(port)));
}

function bindTransmitter(port: number): Promise<Session> {
  return new Promise((resolve, reject) => {
    const session = smpp.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => fail(new Error('bare bind timed out')), 10_000);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      session.destroy();
      reject(err);
    };
    session.on('error', fail);
    session.once('connect', () => {
      const bind = makePdu('bind_transmitter', { system_id: SIM_ACCOUNT.systemId, password: SIM_ACCOUNT.password, interface_version: 0x34 });
      session.send(bind, (resp: Pdu) => {
        clearTimeout(timer);
        if (resp.command_status === 0) resolve(session);
        else fail(new Error(`bare bind refused: ${resp.command_status}`));
      });
    });
  });
}

/** Unbinds (waiting at most a second for the answer) and closes. */
export async function closeBare(sessions: Session[]): Promise<void> {
  await Promise.all(
    sessions.map(
      (s) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(done, 1000);
          function done(): void {
            clearTimeout(timer);
            s.destroy();
            resolve();
          }
          if (!s.send(makePdu('unbind'), done)) done();
        }),
    ),
  );
}

/**
 * Keeps `window` submit_sm outstanding on every session, topping up from the response callback,
 * until `count` responses have come back in all. With window 1 this is stop-and-wait: send,
 * await the response, repeat. Rejects if nothing comes back for `stallMs`.
 */
export function bareWindowedLoop(sessions: Session[], fields: Record<string, unknown>, o: { count: number; window: number; stallMs?: number }): Promise<{ accepted: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = 0;
    let accepted = 0;
    let lastProgress = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - lastProgress > (o.stallMs ?? 10_000)) finish(new Error(`bare loop stalled at ${answered} of ${o.count}`));
    }, 500);
    let finished = false;
    function finish(err?: Error): void {
      if (finished) return;
      finished = true;
      clearInterval(watchdog);
      if (err) reject(err);
      else resolve({ accepted });
    }
    const sendOne = (session: Session): void => {
      if (sent >= o.count) return;
      sent += 1;
      const ok = session.send(makePdu('submit_sm', fields), (resp: Pdu) => {
        answered += 1;
        lastProgress = Date.now();
        if (resp.command_status === 0) accepted += 1;
        if (answered === o.count) finish();
        else sendOne(session);
      });
      if (!ok) finish(new Error('bare session not writable'));
    };
    for (const session of sessions) for (let i = 0; i < o.window; i++) sendOne(session);
  });
}
