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
