/**
 * The statement and read batchers' own rules, against an in-process fake of the client's `send`:
 * DynamoDB Local cannot be made to throttle one statement of a batch or leave a key unprocessed. What the statements do to the table is
 * tested against DynamoDB Local in test/integration/status-store.test.ts ("calls per job").
 */
import { describe, expect, it } from 'vitest';
import type { BatchExecuteStatementCommand, BatchGetItemCommand } from '@aws-sdk/client-dynamodb';
import { ReadBatcher } from '../../service/src/aws/status-store/read-batcher.js';
import { batchesOf, MAX_STATEMENTS, StatementBatcher, type Statement } from '../../service/src/aws/status-store/statement-batcher.js';

const statement = (id: string): Statement => ({ id, statement: `UPDATE "t" SET "a" = ? WHERE "id" = ?`, parameters: [{ S: 'x' }, { S: id }] });

/** A fake client: answers each batch with `answer(ids)` (an error code per statement, or undefined), or throws `fails`. */
function fakeClient(answer: (ids: string[]) => (string | undefined)[], fails?: Error): { sent: string[][]; client: { send: (c: BatchExecuteStatementCommand) => Promise<unknown> } } {
  const sent: string[][] = [];
  return {
    sent,
    client: {
      send: async (command) => {
        const ids = (command.input.Statements ?? []).map((s) => s.Parameters?.at(-1)?.S ?? '');
        sent.push(ids);
        if (fails) throw fails;
        return { Responses: answer(ids).map((code) => (code === undefined ? {} : { Error: { Code: code, Message: code } })) };
      },
    },
  };
}

describe('StatementBatcher', () => {
  it('sends the statements of one turn in one batch and tells each its own outcome', async () => {
    // Prepare
    const codes: Record<string, string | undefined> = { a: undefined, b: 'ConditionalCheckFailed', c: 'DuplicateItem', d: 'ThrottlingError', e: 'ValidationError' };
    const { sent, client } = fakeClient((ids) => ids.map((id) => codes[id]));
    const batcher = new StatementBatcher(client as never);
    // Act
    const outcomes = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => batcher.write(statement(id))));
    // Assess: a refusal is final; anything else unsettled goes back for the single call.
    expect(sent).toEqual([['a', 'b', 'c', 'd', 'e']]);
    expect(outcomes).toEqual(['written', 'refused', 'refused', 'single', 'single']);
  });

  it('sends nothing for a statement alone in its turn', async () => {
    // Prepare
    const { sent, client } = fakeClient((ids) => ids.map(() => undefined));
    const batcher = new StatementBatcher(client as never);
    // Act
    const alone = await batcher.write(statement('a'));
    const next = await Promise.all([batcher.write(statement('b')), batcher.write(statement('c'))]);
    // Assess
    expect(alone).toBe('single');
    expect(next).toEqual(['written', 'written']);
    expect(sent).toEqual([['b', 'c']]);
  });

  it('hands every statement back when the batch call fails', async () => {
    // Prepare
    const { sent, client } = fakeClient(() => [], new Error('socket hang up'));
    const batcher = new StatementBatcher(client as never);
    // Act
    const outcomes = await Promise.all(['a', 'b'].map((id) => batcher.write(statement(id))));
    // Assess
    expect(sent).toHaveLength(1);
    expect(outcomes).toEqual(['single', 'single']);
  });

  it('with a linger, batches statements of different turns together', async () => {
    // Prepare
    const { sent, client } = fakeClient((ids) => ids.map(() => undefined));
    const batcher = new StatementBatcher(client as never, undefined, 50);
    // Act: the second statement comes a turn after the first, within the linger.
    const first = batcher.write(statement('a'));
    await new Promise((resolve) => setImmediate(resolve));
    const outcomes = await Promise.all([first, batcher.write(statement('b'))]);
    // Assess
    expect(sent).toEqual([['a', 'b']]);
    expect(outcomes).toEqual(['written', 'written']);
  });

  it('sends a full batch at once, without waiting for the linger', async () => {
    // Prepare: a linger far longer than the test's timeout.
    const { sent, client } = fakeClient((ids) => ids.map(() => undefined));
    const batcher = new StatementBatcher(client as never, undefined, 600_000);
    // Act
    const outcomes = await Promise.all(Array.from({ length: MAX_STATEMENTS }, (_, i) => batcher.write(statement(`id${i}`))));
    // Assess
    expect(sent).toHaveLength(1);
    expect(outcomes.every((o) => o === 'written')).toBe(true);
  });

  it('hands back a statement the answer leaves out', async () => {
    // Prepare: an answer shorter than the batch.
    const { client } = fakeClient(() => [undefined]);
    const batcher = new StatementBatcher(client as never);
    // Act
    const outcomes = await Promise.all(['a', 'b'].map((id) => batcher.write(statement(id))));
    // Assess
    expect(outcomes).toEqual(['written', 'single']);
  });
});

describe('batchesOf', () => {
  const ids = (batches: { statement: Statement }[][]): string[][] => batches.map((b) => b.map((p) => p.statement.id));

  it('never puts two statements on one item in a batch, and keeps their order', () => {
    // Prepare
    const pending = ['a', 'b', 'a', 'c', 'a', 'b'].map((id) => ({ statement: statement(id) }));
    // Act
    const batches = ids(batchesOf(pending));
    // Assess
    expect(batches).toEqual([['a', 'b', 'c'], ['a', 'b'], ['a']]);
  });

  it('holds at most MAX_STATEMENTS statements per batch', () => {
    // Prepare
    const pending = Array.from({ length: 2 * MAX_STATEMENTS + 3 }, (_, i) => ({ statement: statement(`id${i}`) }));
    // Act
    const batches = batchesOf(pending);
    // Assess
    expect(batches.map((b) => b.length)).toEqual([MAX_STATEMENTS, MAX_STATEMENTS, 3]);
    expect(batches.flat().map((p) => p.statement.id)).toEqual(pending.map((p) => p.statement.id));
  });
});

/** A fake client for BatchGetItem: answers with the items `stored` has, leaving `unprocessed` ids unprocessed, or throws `fails`. */
function fakeReader(stored: Record<string, string>, unprocessed: string[] = [], fails?: Error): { asked: string[][]; client: { send: (c: BatchGetItemCommand) => Promise<unknown> } } {
  const asked: string[][] = [];
  return {
    asked,
    client: {
      send: async (command) => {
        const keys = (command.input.RequestItems?.['t']?.Keys ?? []).map((k) => k['id']?.S ?? '');
        asked.push(keys);
        if (fails) throw fails;
        return {
          Responses: { t: keys.filter((id) => id in stored && !unprocessed.includes(id)).map((id) => ({ id: { S: id }, v: { S: stored[id] } })) },
          UnprocessedKeys: unprocessed.length > 0 ? { t: { Keys: keys.filter((id) => unprocessed.includes(id)).map((id) => ({ id: { S: id } })) } } : {},
        };
      },
    },
  };
}

describe('ReadBatcher', () => {
  it('reads one turn\'s ids in one consistent BatchGetItem, each id once, and tells every reader', async () => {
    // Prepare
    const { asked, client } = fakeReader({ a: 'A', b: 'B' }, ['c']);
    const reader = new ReadBatcher(client as never, 't');
    // Act: "a" is asked for twice; "c" comes back unprocessed; "d" does not exist.
    const outcomes = await Promise.all(['a', 'b', 'a', 'c', 'd'].map((id) => reader.get(id)));
    // Assess
    expect(asked).toEqual([['a', 'b', 'c', 'd']]);
    expect(outcomes).toEqual([{ item: { id: { S: 'a' }, v: { S: 'A' } } }, { item: { id: { S: 'b' }, v: { S: 'B' } } }, { item: { id: { S: 'a' }, v: { S: 'A' } } }, 'single', { item: undefined }]);
  });

  it('sends nothing for a read alone in its turn, and hands every read back when the call fails', async () => {
    // Prepare
    const { asked, client } = fakeReader({}, [], new Error('socket hang up'));
    const reader = new ReadBatcher(client as never, 't');
    // Act
    const alone = await reader.get('a');
    const failed = await Promise.all([reader.get('b'), reader.get('c')]);
    // Assess
    expect(alone).toBe('single');
    expect(failed).toEqual(['single', 'single']);
    expect(asked).toEqual([['b', 'c']]);
  });

  it('asks for the consistent read the GetItem would have made', async () => {
    // Prepare
    const inputs: unknown[] = [];
    const reader = new ReadBatcher({ send: async (c: BatchGetItemCommand) => (inputs.push(c.input), { Responses: {} }) } as never, 't');
    // Act
    await Promise.all([reader.get('a'), reader.get('b')]);
    // Assess
    expect(inputs).toEqual([{ RequestItems: { t: { Keys: [{ id: { S: 'a' } }, { id: { S: 'b' } }], ConsistentRead: true } } }]);
  });
});
