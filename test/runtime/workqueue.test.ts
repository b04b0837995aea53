import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/runtime/clock';
import { WorkQueue } from '../../src/runtime/workqueue';
import {
  BucketRateLimiter, ExponentialRateLimiter, MaxOfRateLimiter, defaultControllerRateLimiter,
} from '../../src/runtime/ratelimit';

const noLimit = () => new ExponentialRateLimiter(5, 1_000_000);

describe('WorkQueue', () => {
  it('queues a key at most once', async () => {
    const q = new WorkQueue({ rateLimiter: noLimit() });
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.len()).toBe(0);
  });

  it('never hands a key to two workers; a re-add while processing is queued after done', async () => {
    const q = new WorkQueue({ rateLimiter: noLimit() });
    q.add('a');
    const k = await q.get();
    expect(k).toBe('a');
    q.add('a'); // changed while a worker holds it
    q.add('a');
    expect(q.len()).toBe(0); // not handed out again yet
    let second: string | undefined;
    void q.get().then((x) => (second = x));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done('a');
    await Promise.resolve();
    expect(second).toBe('a');
    expect(q.isProcessing('a')).toBe(true);
    q.done('a');
    expect(q.len()).toBe(0);
  });

  it('with many workers, one key is processed by at most one at a time and all adds are seen', async () => {
    const q = new WorkQueue({ rateLimiter: noLimit() });
    const active = new Set<string>();
    let overlaps = 0;
    let processed = 0;
    const workers = Array.from({ length: 4 }, async () => {
      for (;;) {
        const key = await q.get();
        if (key === undefined) return;
        if (active.has(key)) overlaps++;
        active.add(key);
        await new Promise((r) => setImmediate(r));
        active.delete(key);
        processed++;
        q.done(key);
      }
    });
    for (let round = 0; round < 50; round++) {
      for (const k of ['x', 'y', 'z']) q.add(k);
      await new Promise((r) => setImmediate(r));
    }
    await q.shutdownWithDrain();
    await Promise.all(workers);
    expect(overlaps).toBe(0);
    expect(processed).toBeGreaterThanOrEqual(3);
    expect(processed).toBeLessThanOrEqual(150);
  });

  it('addAfter waits on the injected clock, and the earlier of two times wins', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, rateLimiter: noLimit() });
    q.addAfter('a', 1000);
    q.addAfter('a', 5000); // later: ignored
    q.addAfter('b', 3000);
    q.addAfter('b', 500); // earlier: replaces
    expect(q.len()).toBe(0);
    await clock.advance(499);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('b');
    await clock.advance(500);
    expect(await q.get()).toBe('a');
    await clock.advance(10_000);
    expect(q.len()).toBe(0); // the ignored 5000 ms add did not fire separately
    expect(q.delayedCount()).toBe(0);
  });

  it('addRateLimited backs off exponentially per key; forget resets it', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, rateLimiter: new ExponentialRateLimiter(5, 1_000_000) });
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = clock.now();
      q.addRateLimited('a');
      while (q.len() === 0) await clock.advance(1);
      delays.push(clock.now() - t0);
      q.done((await q.get())!);
    }
    expect(delays).toEqual([5, 10, 20, 40, 80]);
    expect(q.numRequeues('a')).toBe(5);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
  });

  it('shutdown drops queued keys, releases waiting workers and waits for in-flight keys', async () => {
    const q = new WorkQueue({ rateLimiter: noLimit() });
    q.add('a');
    q.add('b');
    const held = await q.get();
    let stopped = false;
    const stopping = q.shutdown().then(() => (stopped = true));
    expect(await q.get()).toBeUndefined(); // 'b' dropped
    q.add('c');
    expect(q.len()).toBe(0);
    await Promise.resolve();
    expect(stopped).toBe(false); // 'a' still in flight
    q.done(held!);
    await stopping;
    expect(stopped).toBe(true);
  });

  it('shutdownWithDrain hands out everything already queued first', async () => {
    const q = new WorkQueue({ rateLimiter: noLimit() });
    q.add('a');
    q.add('b');
    const draining = q.shutdownWithDrain();
    const seen: string[] = [];
    for (;;) {
      const k = await q.get();
      if (k === undefined) break;
      seen.push(k);
      q.done(k);
    }
    await draining;
    expect(seen).toEqual(['a', 'b']);
  });

  it('reports depth, adds, retries, latency and work duration to the hooks', async () => {
    const clock = new FakeClock();
    const m = { depth: [] as number[], adds: 0, retries: 0, latency: [] as number[], work: [] as number[] };
    const q = new WorkQueue({
      clock,
      rateLimiter: noLimit(),
      metrics: {
        depth: (n) => m.depth.push(n),
        add: () => m.adds++,
        retry: () => m.retries++,
        latency: (s) => m.latency.push(s),
        workDuration: (s) => m.work.push(s),
      },
    });
    q.add('a');
    q.add('a');
    q.add('b');
    await clock.advance(2000);
    const k = (await q.get())!;
    await clock.advance(500);
    q.done(k);
    q.addRateLimited('a');
    expect(m.adds).toBe(2);
    expect(m.retries).toBe(1);
    expect(m.depth).toEqual([1, 2, 1]);
    expect(m.latency).toEqual([2]);
    expect(m.work).toEqual([0.5]);
  });
});

describe('rate limiters', () => {
  it('exponential delays grow 5 ms x 2^n and stop at the cap', () => {
    const r = new ExponentialRateLimiter(5, 1_000_000);
    const got = Array.from({ length: 30 }, () => r.when('k'));
    expect(got.slice(0, 4)).toEqual([5, 10, 20, 40]);
    expect(got[27]).toBe(1_000_000);
    expect(Math.max(...got)).toBe(1_000_000);
    expect(r.when('other')).toBe(5); // per key
  });

  it('the bucket allows a burst, then spaces retries at qps', async () => {
    const clock = new FakeClock();
    const b = new BucketRateLimiter(clock, 10, 3);
    expect([b.when(), b.when(), b.when()]).toEqual([0, 0, 0]);
    expect(b.when()).toBeCloseTo(100);
    expect(b.when()).toBeCloseTo(200);
    await clock.advance(1000);
    expect(b.when()).toBe(0);
  });

  it('the default limiter takes the slower of both', () => {
    const clock = new FakeClock();
    const r = defaultControllerRateLimiter(clock, { qps: 1, burst: 1 });
    expect(r.when('a')).toBe(5);
    expect(r.when('b')).toBeCloseTo(1000);
    expect(new MaxOfRateLimiter([]).when('x')).toBe(0);
  });
});
