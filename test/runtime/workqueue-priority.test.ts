// The low-priority lane of the work queue (the periodic resync): normal keys first, a normal add
// promotes a low key, and every rule of the plain queue still holds. Table cases, then a model.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WorkQueue } from '../../src/runtime/workqueue';
import { ExponentialRateLimiter } from '../../src/runtime/ratelimit';

const queue = () => new WorkQueue({ rateLimiter: new ExponentialRateLimiter(5, 1_000_000) });

describe('WorkQueue priorities', () => {
  it('hands out every normal key before any low one', async () => {
    const q = queue();
    for (const k of ['r1', 'r2', 'r3']) q.add(k, 'low');
    q.add('edit');
    expect(q.len()).toBe(4);
    expect(await q.get()).toBe('edit');
    expect(await q.get()).toBe('r1');
  });

  it('a normal add promotes a queued low key (once, ahead of the other low keys)', async () => {
    const q = queue();
    for (const k of ['r1', 'r2', 'r3']) q.add(k, 'low');
    q.add('r3');
    q.add('r3', 'low'); // a low add never demotes
    expect(q.len()).toBe(3);
    const got = [await q.get(), await q.get(), await q.get()];
    expect(got).toEqual(['r3', 'r1', 'r2']);
    expect(q.len()).toBe(0);
  });

  it('a low key re-added while a worker holds it is queued low after done; a normal re-add queues it normal', async () => {
    const q = queue();
    q.add('a', 'low');
    expect(await q.get()).toBe('a');
    q.add('a', 'low');
    q.add('b');
    q.done('a');
    expect(await q.get()).toBe('b');
    expect(await q.get()).toBe('a');
    q.add('a', 'low');
    q.add('a');
    q.add('c', 'low');
    q.done('a');
    expect(await q.get()).toBe('a');
  });

  it('a promoted key held by a worker is not handed out again from its stale low entry', async () => {
    const q = queue();
    q.add('a', 'low');
    q.add('a'); // promoted: its low entry is stale
    expect(await q.get()).toBe('a');
    q.add('a', 'low'); // changed while held: queued again only after done
    q.add('b', 'low');
    expect(await q.get()).toBe('b');
    expect(q.isProcessing('a')).toBe(true);
    expect(q.len()).toBe(0);
  });

  it('a stale low entry never revives: a key promoted, taken and re-added low waits behind older low keys', async () => {
    const q = queue();
    q.add('a', 'low');
    q.add('a'); // promoted: the first low entry of 'a' is stale
    expect(await q.get()).toBe('a');
    q.done('a');
    q.add('e', 'low');
    q.add('a', 'low'); // a new entry, behind 'e'
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('e');
    expect(await q.get()).toBe('a');
    expect(q.len()).toBe(0);
  });

  it('shutdown drops low keys too', async () => {
    const q = queue();
    q.add('a', 'low');
    q.add('b');
    await q.shutdown();
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
  });

  type Op = { op: 'add'; key: string; low: boolean } | { op: 'get' } | { op: 'done'; pick: number };
  // Few keys and short runs of ops: the interesting histories (a key promoted, taken, done and queued
  // low again behind another) need the same key to come back often.
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('add' as const), key: fc.constantFrom('a', 'b'), low: fc.boolean() }),
    fc.record({ op: fc.constant('get' as const) }),
    fc.record({ op: fc.constant('done' as const), pick: fc.nat(4) }),
  );

  it('matches a reference model on random adds, gets and dones', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 20, maxLength: 80, size: 'max' }), async (ops) => {
        const q = queue();
        // The model: two FIFO lists, the dirty keys with their priority, the keys held by workers.
        const lists = { normal: [] as string[], low: [] as string[] };
        const dirty = new Map<string, 'normal' | 'low'>();
        const held: string[] = [];
        for (const o of ops) {
          if (o.op === 'add') {
            const p = o.low ? 'low' : 'normal';
            q.add(o.key, p);
            const cur = dirty.get(o.key);
            if (cur === undefined) {
              dirty.set(o.key, p);
              if (!held.includes(o.key)) lists[p].push(o.key);
            } else if (cur === 'low' && p === 'normal') {
              dirty.set(o.key, 'normal');
              if (!held.includes(o.key)) {
                lists.low.splice(lists.low.indexOf(o.key), 1);
                lists.normal.push(o.key);
              }
            }
          } else if (o.op === 'get') {
            const want = lists.normal.shift() ?? lists.low.shift();
            if (want === undefined) continue; // get() would wait
            expect(await q.get()).toBe(want);
            dirty.delete(want);
            held.push(want);
          } else {
            if (held.length === 0) continue;
            const key = held.splice(o.pick % held.length, 1)[0]!;
            q.done(key);
            const p = dirty.get(key);
            if (p) lists[p].push(key);
          }
          expect(q.len()).toBe(lists.normal.length + lists.low.length);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
