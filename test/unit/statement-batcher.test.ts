/**
 * The statement batcher's own rules, against an in-process fake of the client's `send`: DynamoDB
 * Local cannot be made to throttle one statement of a batch. What the statements do to the table is
 * tested against DynamoDB Local in test/integration/status-store.test.ts ("calls per job").
 */
import { describe, expect, it } from 'vitest';
import type { BatchExecuteStatementCommand } from '@aws-sdk/client-dynamodb';
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
