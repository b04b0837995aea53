import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Conntrack } from '../../src/dataplane/conntrack';
import { Dataplane, type Packet } from '../../src/dataplane/dataplane';
import { cidrPeer, oneProgram, rule, tcp } from './fixtures';

const allow = { verdict: 'Allow', tier: 'Tenant', policy: null, rule: 'r' } as const;
const web = oneProgram([rule('web-out', { ports: [tcp(443)] })], [rule('ssh-in', { peers: [cidrPeer('10.0.0.0/8')], ports: [tcp(22)] })]);
const out = (over: Partial<Packet> = {}): Packet => ({
  vm: 'ns/vm', vnic: 'eth0', direction: 'egress', localIp: '10.0.0.1', localMac: '02:00:00:00:00:01', remoteIp: '1.2.3.4', protocol: 'TCP', localPort: 40000, remotePort: 443, ...over,
});
const reply = (p: Packet): Packet => ({ ...p, direction: p.direction === 'egress' ? 'ingress' : 'egress' });

describe('connection tracking', () => {
  it('lets replies of an allowed flow pass without classification', () => {
    const dp = new Dataplane(web);
    expect(dp.process(out())).toMatchObject({ verdict: 'Allow', via: 'classifier', decision: { rule: 'web-out' } });
    // The reply (ingress from 1.2.3.4:443 to local 40000) matches no ingress rule on its own...
    expect(dp.classify({ vm: 'ns/vm', vnic: 'eth0', direction: 'ingress', remoteIp: '1.2.3.4', protocol: 'TCP', port: 40000 }).verdict).toBe('Deny');
    // ...but passes as a reply of the tracked flow.
    expect(dp.process(reply(out()))).toMatchObject({ verdict: 'Allow', via: 'reply' });
    expect(dp.process(out())).toMatchObject({ verdict: 'Allow', via: 'established' });
    expect(dp.counters).toEqual({ packets: 3, allowed: 3, denied: 0, classified: 1, spoofed: 0 });
  });
  it('does not track denied packets', () => {
    const dp = new Dataplane(web);
    expect(dp.process(out({ remotePort: 80 })).verdict).toBe('Deny');
    expect(dp.process(reply(out({ remotePort: 80 }))).verdict).toBe('Deny');
    expect(dp.conntrack.size).toBe(0);
  });
  it('forgets idle flows', () => {
    let now = 0;
    const dp = new Dataplane(web, { conntrack: { idleMs: 1000, now: () => now } });
    dp.process(out());
    now = 900;
    expect(dp.process(reply(out())).via).toBe('reply'); // refreshes lastSeen
    now = 1800;
    expect(dp.process(reply(out())).via).toBe('reply');
    now = 2801;
    expect(dp.process(reply(out())).verdict).toBe('Deny');
    expect(dp.conntrack.counters.expirations).toBe(1);
  });
  it('bounds the table, evicting the least recently used flow', () => {
    const ct = new Conntrack({ maxFlows: 2, now: () => 0 });
    ct.insert('a', 'egress', allow, 0);
    ct.insert('b', 'egress', allow, 0);
    expect(ct.lookup('a')).toBeDefined(); // a is now most recent
    ct.insert('c', 'egress', allow, 0);
    expect(ct.size).toBe(2);
    expect(ct.lookup('b')).toBeUndefined();
    expect(ct.lookup('a')).toBeDefined();
    expect(ct.counters.evictions).toBe(1);
  });
  it('expire() drops only idle entries', () => {
    let now = 0;
    const ct = new Conntrack({ idleMs: 10, now: () => now });
    ct.insert('old', 'egress', allow, 0);
    now = 8;
    ct.insert('new', 'egress', allow, 0);
    now = 15;
    expect(ct.expire()).toBe(1);
    expect(ct.lookup('new')).toBeDefined();
  });
  it('re-checks tracked flows after a filter change', () => {
    const dp = new Dataplane(web);
    dp.process(out());
    dp.replace(oneProgram([rule('only-80', { ports: [tcp(80)] })]));
    expect(dp.process(reply(out()))).toMatchObject({ verdict: 'Deny', decision: { rule: 'no-match' } });
    expect(dp.conntrack.size).toBe(0);
    dp.replace(web);
    dp.process(out());
    dp.replace({ ...web, hash: 'y' });
    expect(dp.process(reply(out()))).toMatchObject({ verdict: 'Allow', via: 'reply' });
    expect(dp.appliedHash).toBe('y');
  });
});

// One host, two tenants' vNICs on the same program (HTTPS out, nothing in): a reply passes only as a
// tracked flow. The attacker floods the shared table with flows of its own (each one allowed).
describe('connection tracking is fair between vNICs (a flood from one vNIC cannot evict the flows of another)', () => {
  const host = {
    ...web,
    bindings: [
      { vm: 'evil/vm', vnic: 'eth0', ip: '10.0.0.66', mac: '02:00:00:00:00:66', program: 'p-1' },
      { vm: 'evil/vm2', vnic: 'eth0', ip: '10.0.0.67', mac: '02:00:00:00:00:67', program: 'p-1' },
      { vm: 'evil/vm3', vnic: 'eth0', ip: '10.0.0.68', mac: '02:00:00:00:00:68', program: 'p-1' },
      { vm: 'victim/db', vnic: 'eth0', ip: '10.0.0.1', mac: '02:00:00:00:00:01', program: 'p-1' },
    ],
  };
  const evil = (i: number, vm = 'evil/vm'): Packet => {
    const b = host.bindings.find((x) => x.vm === vm)!;
    return out({ vm, localIp: b.ip, localMac: b.mac, remoteIp: '6.6.6.6', localPort: 1024 + (i % 60000) });
  };
  const victim = (i: number): Packet => out({ vm: 'victim/db', remoteIp: '1.2.3.4', localPort: 40000 + i });

  it("a victim's established flow survives a flood that fills the table many times over", () => {
    const dp = new Dataplane(host, { conntrack: { maxFlows: 64 } });
    expect(dp.process(victim(0)).verdict).toBe('Allow');
    for (let i = 0; i < 1000; i++) expect(dp.process(evil(i)).verdict).toBe('Allow');
    expect(dp.conntrack.size).toBeLessThanOrEqual(64);
    // Without fairness the reply is classified as a new inbound packet: Deny (no-match).
    expect(dp.process(reply(victim(0)))).toMatchObject({ verdict: 'Allow', via: 'reply' });
  });

  it('property: a vNIC holding at most its fair share (maxFlows / vNICs with flows) loses none of them', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 8, max: 96 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 59_999 })), { maxLength: 400 }),
        fc.integer({ min: 0, max: 1000 }),
        (maxFlows, attackers, flood, seed) => {
          const dp = new Dataplane(host, { conntrack: { maxFlows } });
          const vms = ['evil/vm', 'evil/vm2', 'evil/vm3'].slice(0, attackers);
          const share = Math.floor(maxFlows / (attackers + 1));
          const mine = Array.from({ length: 1 + (seed % share) }, (_, i) => victim(i));
          for (const p of mine) expect(dp.process(p).verdict).toBe('Allow');
          for (const [a, port] of flood) dp.process(evil(port, vms[a % attackers]));
          expect(dp.conntrack.size).toBeLessThanOrEqual(maxFlows);
          for (const p of mine) expect(dp.process(reply(p)).via).toBe('reply');
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('Conntrack zones against a model', () => {
  it('property: bounded, counts exact, and each eviction takes the oldest flow of a largest zone', () => {
    type Op = { op: 'insert' | 'lookup' | 'delete'; zone: number; flow: number } | { op: 'tick' | 'expire' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ op: fc.constantFrom('insert' as const, 'lookup' as const, 'delete' as const), zone: fc.integer({ min: 0, max: 3 }), flow: fc.integer({ min: 0, max: 11 }) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('tick' as const, 'expire' as const) }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.array(op, { maxLength: 200 }), (maxFlows, ops) => {
        let now = 0;
        const ct = new Conntrack({ maxFlows, idleMs: 5, now: () => now });
        // Model: zone → keys, oldest first, with last-seen times.
        const model = new Map<string, { key: string; seen: number }[]>();
        const zoneOf = (key: string) => [...model].find(([, l]) => l.some((f) => f.key === key));
        const drop = (key: string) => {
          const z = zoneOf(key);
          if (z) z[1].splice(z[1].findIndex((f) => f.key === key), 1);
        };
        const total = () => [...model.values()].reduce((n, l) => n + l.length, 0);
        for (const o of ops) {
          if (o.op === 'tick') now += 3;
          else if (o.op === 'expire') {
            for (const l of model.values()) for (let i = l.length - 1; i >= 0; i--) if (now - l[i]!.seen > 5) l.splice(i, 1);
            ct.expire();
          } else if ('zone' in o) {
            const zone = `z${o.zone}`;
            const key = `${zone}/${o.flow}`;
            if (o.op === 'delete') {
              drop(key);
              ct.delete(key);
            } else if (o.op === 'lookup') {
              const z = zoneOf(key);
              const f = z?.[1].find((x) => x.key === key);
              const live = f !== undefined && now - f.seen <= 5;
              expect(ct.lookup(key) !== undefined).toBe(live);
              if (f) {
                drop(key);
                if (live) z![1].push({ key, seen: now });
              }
            } else {
              drop(key);
              const mine = model.get(zone)?.length ?? 0;
              const largest = Math.max(0, ...[...model.values()].map((l) => l.length));
              ct.insert(key, 'egress', allow, 0, zone);
              if (total() >= maxFlows) {
                // Exactly one flow went: the oldest of the inserting zone if it is among the largest,
                // else the oldest of some largest zone.
                const candidates = mine === largest ? [zone] : [...model].filter(([, l]) => l.length === largest).map(([z]) => z);
                const gone = candidates.filter((z) => !ct.has(model.get(z)![0]!.key));
                expect(gone.length).toBe(1);
                model.get(gone[0]!)!.shift();
              }
              if (!model.has(zone)) model.set(zone, []);
              model.get(zone)!.push({ key, seen: now });
            }
          }
          expect(ct.size).toBe(total());
          expect(ct.size).toBeLessThanOrEqual(maxFlows);
          for (const [z, l] of model) expect(ct.zoneSize(z)).toBe(l.length);
        }
      }),
      { numRuns: 500 },
    );
  });
});
