import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import pino from 'pino';
import { FakeClock } from '../../src/runtime/clock';
import { Controller, type ReconcileContext } from '../../src/runtime/controller';
import { TerminalError } from '../../src/runtime/errors';
import { ExponentialRateLimiter } from '../../src/runtime/ratelimit';
import { RuntimeMetrics } from '../../src/runtime/metrics';

/** Wait for a condition with a deadline (no fixed sleeps). */
async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}

describe('Controller', () => {
  it('lets timers and I/O in while its queue stays full (probes and watches are not starved)', async () => {
    const TOTAL = 1000;
    let n = 0;
    const c: Controller = new Controller({
      name: 't',
      workers: 2,
      reconcile: async () => {
        const end = performance.now() + 1; // a millisecond of synchronous work per key
        while (performance.now() < end);
        n++;
        if (n < TOTAL) c.enqueue(`k${n}`);
      },
    });
    c.start();
    c.enqueue('k0');
    // A timer due at once gets its turn while the work goes on; without turns it would run only
    // after all of it (about a second later).
    const doneWhenTimerRan = await new Promise<number>((r) => setTimeout(() => r(n), 0));
    expect(doneWhenTimerRan).toBeGreaterThan(0);
    expect(doneWhenTimerRan).toBeLessThan(TOTAL / 2);
    const end = Date.now() + 10_000;
    while (n < TOTAL && Date.now() < end) await new Promise<void>((r) => setTimeout(r, 5));
    expect(n).toBe(TOTAL);
    await c.stop();
  });

  it('retries a thrown error with growing backoff, then forgets after success', async () => {
    const clock = new FakeClock();
    const calls: Array<{ at: number; attempt: number }> = [];
    const c = new Controller({
      name: 't',
      clock,
      workers: 2,
      rateLimiter: new ExponentialRateLimiter(100, 10_000),
      reconcile: async (_key, ctx) => {
        calls.push({ at: clock.now() - t0, attempt: ctx.attempt });
        if (calls.length < 4) throw new Error('boom');
      },
    });
    const t0 = clock.now();
    c.start();
    c.enqueue('ns/a');
    await until(() => calls.length === 1);
    for (let i = 0; i < 10 && calls.length < 4; i++) await clock.advance(100);
    await clock.advance(1000);
    await until(() => calls.length === 4);
    expect(calls.map((x) => x.at)).toEqual([0, 100, 300, 700]);
    expect(calls.map((x) => x.attempt)).toEqual([0, 1, 2, 3]);
    await until(() => c.queue.numRequeues('ns/a') === 0);
    expect(c.stats.errors).toBe(3);
    await c.stop();
  });

  it('requeueAfter schedules the key again without counting an error', async () => {
    const clock = new FakeClock();
    let n = 0;
    const c = new Controller({
      name: 't',
      clock,
      reconcile: async () => {
        n++;
        return n === 1 ? { requeueAfter: 5000 } : {};
      },
    });
    c.start();
    c.enqueue('k');
    await until(() => n === 1);
    await clock.advance(4999);
    expect(n).toBe(1);
    await clock.advance(1);
    await until(() => n === 2);
    expect(c.stats.errors).toBe(0);
    expect(c.stats.requeues).toBe(1);
    await c.stop();
  });

  it('a TerminalError is not retried', async () => {
    const clock = new FakeClock();
    let n = 0;
    const c = new Controller({
      name: 't',
      clock,
      reconcile: async () => {
        n++;
        throw new TerminalError('spec can never work', 'InvalidSpec');
      },
    });
    c.start();
    c.enqueue('k');
    await until(() => c.stats.terminal === 1);
    await clock.advance(60_000);
    expect(n).toBe(1);
    expect(c.queue.delayedCount()).toBe(0);
    await c.stop();
  });

  it('runs different keys concurrently up to `workers`, never the same key twice at once', async () => {
    let active = 0;
    let peak = 0;
    const perKey = new Map<string, number>();
    let overlap = false;
    const gates: Array<() => void> = [];
    const c = new Controller({
      name: 't',
      workers: 3,
      reconcile: async (key) => {
        active++;
        peak = Math.max(peak, active);
        perKey.set(key, (perKey.get(key) ?? 0) + 1);
        if (perKey.get(key)! > 1) overlap = true;
        await new Promise<void>((r) => gates.push(r));
        perKey.set(key, perKey.get(key)! - 1);
        active--;
      },
    });
    c.start();
    for (const k of ['a', 'b', 'c', 'd', 'a', 'a']) c.enqueue(k);
    await until(() => active === 3);
    c.enqueue('a'); // re-added while in flight
    await until(() => {
      while (gates.length) gates.shift()!();
      return c.stats.reconciles === 5 && active === 0;
    });
    expect(peak).toBe(3);
    expect(overlap).toBe(false);
    expect(c.stats.reconciles).toBe(5); // a, b, c, d, and a again
    await c.stop();
  });

  it('gives each reconcile a child logger with controller, key and reconcileId, and counts metrics', async () => {
    const lines: any[] = [];
    const sink = new Writable({ write: (chunk, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) });
    const metrics = new RuntimeMetrics();
    const ids = new Set<string>();
    const c = new Controller({
      name: 'vm',
      logger: pino({ level: 'info' }, sink),
      metrics,
      reconcile: async (_k, ctx: ReconcileContext) => {
        ids.add(ctx.reconcileId);
        ctx.log.info('hello');
      },
    });
    c.start();
    c.enqueue('acme/web-1');
    await until(() => lines.some((l) => l.msg === 'hello'));
    c.enqueue('acme/web-1');
    await until(() => lines.filter((l) => l.msg === 'hello').length === 2);
    const hello = lines.find((l) => l.msg === 'hello');
    expect(hello).toMatchObject({ controller: 'vm', key: 'acme/web-1' });
    expect(hello.reconcileId).toMatch(/^[0-9a-f]{6}-[0-9a-z]+$/);
    expect(ids.size).toBe(2);
    await c.stop();
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/vmsafe_reconcile_total\{controller="vm",result="success"\} 2/);
    expect(text).toMatch(/vmsafe_workqueue_adds_total\{name="vm"\} 2/);
  });

  it('stop() waits for the in-flight reconcile and aborts its signal', async () => {
    let release!: () => void;
    let sawAbort = false;
    const c = new Controller({
      name: 't',
      reconcile: async (_k, ctx) => {
        await new Promise<void>((r) => (release = r));
        sawAbort = ctx.signal.aborted;
      },
    });
    c.start();
    c.enqueue('k');
    await until(() => release !== undefined);
    let stopped = false;
    const p = c.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    release();
    await p;
    expect(sawAbort).toBe(true);
  });
});
