// RuntimeMetrics.counting and the queue depth read at scrape: what a scrape shows is every increment
// made before it, never lost or counted twice across scrapes, for any interleaving.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RuntimeMetrics } from '../../src/runtime/metrics';

const value = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 'NaN');

describe('counting slots', () => {
  it('a scrape shows the sum of every increment before it, whatever the interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.constant('a' as const), fc.constant('b' as const), fc.constant('scrape' as const)), { maxLength: 40 }), async (steps) => {
        const m = new RuntimeMetrics();
        const hooks = { a: m.informerHooks('vms'), b: m.informerHooks('hosts') };
        const made = { a: 0, b: 0 };
        for (const s of [...steps, 'scrape' as const]) {
          if (s !== 'scrape') {
            hooks[s].event?.('add');
            made[s]++;
            continue;
          }
          const text = await m.registry.metrics();
          expect(value(text, /vmsafe_informer_events_total\{informer="vms",type="add"\} (\d+)/) || 0).toBe(made.a);
          expect(value(text, /vmsafe_informer_events_total\{informer="hosts",type="add"\} (\d+)/) || 0).toBe(made.b);
        }
      }),
    );
  });

  it('countingBy keeps one slot per distinct label values, named in the declared order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('VM', 'Host'), fc.constantFrom('written', 'unchanged', 'error')), { maxLength: 30 }), async (calls) => {
        const m = new RuntimeMetrics();
        const count = m.countingBy(m.statusWrites, ['kind', 'result']);
        for (const [kind, result] of calls) count(kind, result);
        const text = await m.registry.metrics();
        for (const kind of ['VM', 'Host'])
          for (const result of ['written', 'unchanged', 'error']) {
            const made = calls.filter(([k, r]) => k === kind && r === result).length;
            expect(value(text, new RegExp(`vmsafe_status_writes_total\\{kind="${kind}",result="${result}"\\} (\\d+)`)) || 0).toBe(made);
          }
      }),
    );
  });

  it('queue depth is the last one reported when scraped; adds are counted', async () => {
    const m = new RuntimeMetrics();
    const q = m.queueHooks('vm');
    q.add?.();
    q.add?.();
    q.depth?.(5);
    q.depth?.(3);
    const text = await m.registry.metrics();
    expect(value(text, /vmsafe_workqueue_depth\{name="vm"\} (\d+)/)).toBe(3);
    expect(value(text, /vmsafe_workqueue_adds_total\{name="vm"\} (\d+)/)).toBe(2);
  });
});
