import { Logger } from '@aws-lambda-powertools/logger';
import { DetailType, EVENT_SOURCE, type SmsReceivedDetail, type SmsStatusChangedDetail } from './events.js';

/**
 * An example of the users' own Lambda on the connector's bus, to copy and adapt (README,
 * "Your own Lambdas"). EventBridge delivers each event at least once and in no particular order,
 * and the publisher may put an event on the bus twice when it retries a batch, so the consumer
 * keeps, per message id, the highest `version` it has handled (`version` grows with every write
 * of the status item):
 *
 * - the same `(id, version)` again is a duplicate, and dropped;
 * - a lower version than the one handled is stale (a later status already arrived), and dropped;
 * - anything else is handled, then remembered.
 *
 * An `SmsReceived` event has no version; its id (`MO#<uuid>`) names one message, so it counts as
 * version 0 of that id. If the handling throws, the version is given back and the error rethrown:
 * EventBridge retries the event (the consumer's retry policy), and then puts it in the consumer's
 * dead-letter queue.
 *
 * `createConsumer` is pure: the ledger and the actions are passed in, so it runs in a unit test
 * without AWS. The Lambda entry point below wires the in-memory ledger, which only remembers what
 * one warm Lambda environment has seen; a real consumer keeps the ledger in DynamoDB (see the
 * {@link VersionLedger} contract).
 */

/** The event a rule's Lambda target receives. */
export interface ConnectorEvent<D = unknown> {
  version: string;
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: D;
}

/**
 * The highest version handled per message id. With DynamoDB: `advance` is an UpdateItem
 * `SET version = :v` with `ConditionExpression: attribute_not_exists(version) OR version < :v` and
 * `ReturnValuesOnConditionCheckFailure: ALL_OLD` (a failed condition answers duplicate or stale,
 * and two invocations racing on one event cannot both win), and `restore` sets the previous
 * version back on the condition `version = :v`.
 */
export interface VersionLedger {
  /** Records `version` for `id` when it is above the one recorded, atomically. */
  advance(id: string, version: number): Promise<{ advanced: true; previous: number | undefined } | { advanced: false; recorded: number }>;
  /** Undoes an advance whose handling failed, unless a later version was recorded since. */
  restore(id: string, version: number, previous: number | undefined): Promise<void>;
}

/** What to do with the events that pass; throw to have EventBridge retry the event. */
export interface ConsumerActions {
  onStatusChanged(detail: SmsStatusChangedDetail, event: ConnectorEvent<SmsStatusChangedDetail>): Promise<void>;
  onReceived(detail: SmsReceivedDetail, event: ConnectorEvent<SmsReceivedDetail>): Promise<void>;
}

export type ConsumerOutcome =
  | { outcome: 'handled'; detailType: DetailType; id: string; version: number | null }
  | { outcome: 'duplicate' | 'stale'; id: string; version: number; recorded: number }
  | { outcome: 'ignored'; reason: string };

/** The version an `SmsReceived` event counts as: its id alone names the message. */
const RECEIVED_VERSION = 0;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Builds the handler over `ledger` and `actions`. */
export function createConsumer(deps: { ledger: VersionLedger; actions: ConsumerActions }): (event: ConnectorEvent) => Promise<ConsumerOutcome> {
  const { ledger, actions } = deps;

  /** Runs `act` once per (id, version); a failure gives the version back and is rethrown. */
  const once = async (detailType: DetailType, id: string, version: number | null, act: () => Promise<void>): Promise<ConsumerOutcome> => {
    if (version === null) {
      // Nothing to order it by: handled every time it comes (items written by the connector always carry one).
      await act();
      return { outcome: 'handled', detailType, id, version };
    }
    const claim = await ledger.advance(id, version);
    if (!claim.advanced) return { outcome: claim.recorded === version ? 'duplicate' : 'stale', id, version, recorded: claim.recorded };
    try {
      await act();
    } catch (err) {
      await ledger.restore(id, version, claim.previous);
      throw err;
    }
    return { outcome: 'handled', detailType, id, version };
  };

  return async (event) => {
    if (event.source !== EVENT_SOURCE) return { outcome: 'ignored', reason: `source ${event.source} is not ${EVENT_SOURCE}` };
    const detail = event.detail;
    if (!isObject(detail) || typeof detail.id !== 'string') return { outcome: 'ignored', reason: 'detail has no id' };
    switch (event['detail-type']) {
      case DetailType.StatusChanged: {
        const d = detail as unknown as SmsStatusChangedDetail;
        if (typeof d.status !== 'string' || (d.version !== null && !Number.isInteger(d.version))) return { outcome: 'ignored', reason: 'malformed SmsStatusChanged detail' };
        return once(DetailType.StatusChanged, d.id, d.version, () => actions.onStatusChanged(d, event as ConnectorEvent<SmsStatusChangedDetail>));
      }
      case DetailType.Received: {
        const d = detail as unknown as SmsReceivedDetail;
        return once(DetailType.Received, d.id, RECEIVED_VERSION, () => actions.onReceived(d, event as ConnectorEvent<SmsReceivedDetail>));
      }
      default:
        return { outcome: 'ignored', reason: `detail type ${event['detail-type']} is not one of the connector's` };
    }
  };
}

/**
 * A ledger in memory, of at most `capacity` message ids (the least recently advanced go first).
 * For tests, and for the example's Lambda: it forgets on a cold start and is not shared between
 * concurrent Lambda environments.
 */
export class MemoryLedger implements VersionLedger {
  readonly #versions = new Map<string, number>();

  constructor(private readonly capacity = 10_000) {}

  advance(id: string, version: number): ReturnType<VersionLedger['advance']> {
    const recorded = this.#versions.get(id);
    if (recorded !== undefined && recorded >= version) return Promise.resolve({ advanced: false, recorded });
    this.#versions.delete(id);
    this.#versions.set(id, version);
    if (this.#versions.size > this.capacity) this.#versions.delete(this.#versions.keys().next().value as string);
    return Promise.resolve({ advanced: true, previous: recorded });
  }

  restore(id: string, version: number, previous: number | undefined): Promise<void> {
    if (this.#versions.get(id) === version) {
      if (previous === undefined) this.#versions.delete(id);
      else this.#versions.set(id, previous);
    }
    return Promise.resolve();
  }
}

// The Lambda entry point of the example: logs what it handles. Replace the actions with your own.
const logger = new Logger({ serviceName: 'sms-example-consumer' });
const consume = createConsumer({
  ledger: new MemoryLedger(),
  actions: {
    onStatusChanged: (d) => {
      logger.info('SMS status changed', { id: d.id, status: d.status, previousStatus: d.previousStatus, version: d.version });
      return Promise.resolve();
    },
    onReceived: (d) => {
      logger.info('SMS received', { id: d.id, receivedAt: d.receivedAt });
      return Promise.resolve();
    },
  },
});

/** Lambda entry point (handler `index.handler` when bundled, see the README). */
export async function handler(event: ConnectorEvent, context: Parameters<Logger['addContext']>[0]): Promise<ConsumerOutcome> {
  logger.addContext(context);
  const outcome = await consume(event);
  if (outcome.outcome !== 'handled') logger.info('event skipped', { eventId: event.id, ...outcome });
  return outcome;
}
