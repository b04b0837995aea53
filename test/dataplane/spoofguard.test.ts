// Spoof guard (DESIGN rule 0) in the data path: egress with a source IP or MAC other than the vNIC's
// bound ones is dropped before any rule, counted, decision rule "spoofguard".
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildClassifier } from '../../src/dataplane/classifier';
import { Dataplane, type Packet } from '../../src/dataplane/dataplane';
import { buildLinearClassifier } from '../helpers/linear';
import { SPOOFGUARD, isSpoofed, withSpoofGuard } from '../../src/dataplane/spoofguard';
import { egress, oneProgram, rule, tcp } from './fixtures';

// Allow-all egress and ingress: only the guard can deny.
const open = oneProgram([rule('all-out')], [rule('all-in')]);
const IP = '10.0.0.1';
const MAC = '02:00:00:00:00:01';
const out = (over: Partial<Packet> = {}): Packet => ({
  vm: 'ns/vm', vnic: 'eth0', direction: 'egress', localIp: IP, localMac: MAC, remoteIp: '10.0.0.9', protocol: 'TCP', localPort: 40000, remotePort: 443, ...over,
});
const reply = (p: Packet): Packet => ({ ...p, direction: p.direction === 'egress' ? 'ingress' : 'egress' });

describe('isSpoofed', () => {
  it.each([
    [{}, false],
    [{ localIp: IP }, false],
    [{ localIp: IP, localMac: MAC }, false],
    [{ localMac: MAC.toUpperCase() }, false],
    [{ localIp: '10.0.0.2' }, true],
    [{ localMac: '02:00:00:00:00:02' }, true],
    [{ localIp: IP, localMac: '02:00:00:00:00:02' }, true],
    [{ localIp: '10.0.0.2', localMac: MAC }, true],
  ])('claim %j → spoofed %s', (claim, want) => {
    expect(isSpoofed({ ip: IP, mac: MAC }, claim)).toBe(want);
  });
});

describe('spoof guard in the stateful data path', () => {
  it('drops a spoofed source before any rule, counts it, and tracks nothing', () => {
    const dp = new Dataplane(open);
    expect(dp.process(out({ localIp: '10.0.0.77' }))).toEqual({ verdict: 'Deny', decision: SPOOFGUARD, via: 'classifier' });
    expect(dp.process(out({ localMac: '02:00:00:00:00:99' })).decision.rule).toBe('spoofguard');
    expect(dp.conntrack.size).toBe(0);
    expect(dp.counters).toEqual({ packets: 2, allowed: 0, denied: 2, classified: 0, spoofed: 2 });
    expect(dp.process(out())).toMatchObject({ verdict: 'Allow', decision: { rule: 'all-out' } });
  });

  it('a forged packet cannot ride an established flow (the flow key has no source address)', () => {
    const dp = new Dataplane(open);
    expect(dp.process(out()).verdict).toBe('Allow');
    expect(dp.process(out({ localIp: '10.0.0.2' })).decision).toBe(SPOOFGUARD);
    expect(dp.process(out()).via).toBe('established');
  });

  it('checks egress only: ingress is addressed to the vNIC, its source is the remote side', () => {
    const dp = new Dataplane(open);
    expect(dp.process(reply(out({ localIp: IP }))).verdict).toBe('Allow');
  });

  it('follows a filter replacement (a re-bound address is the new truth)', () => {
    const dp = new Dataplane(open);
    dp.replace({ ...open, bindings: [{ ...open.bindings[0]!, ip: '10.0.0.5' }] });
    expect(dp.process(out()).decision).toBe(SPOOFGUARD);
    expect(dp.process(out({ localIp: '10.0.0.5' })).verdict).toBe('Allow');
  });

  it('leaves an unbound vNIC to the classifier ("unbound")', () => {
    const dp = new Dataplane(open);
    expect(dp.process(out({ vnic: 'eth9', localIp: '1.1.1.1' })).decision.rule).toBe('unbound');
  });

  it('property: a packet is dropped by the guard iff it claims another IP or MAC; otherwise the rules decide', () => {
    const rules = oneProgram([rule('web', { ports: [tcp(443)] })], []);
    const octet = fc.integer({ min: 0, max: 3 });
    fc.assert(
      fc.property(octet, fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.constantFrom(443, 80), (ipEnd, macEnd, upper, port) => {
        const localIp = `10.0.0.${ipEnd}`;
        const mac = `02:00:00:00:00:0${macEnd}`;
        const localMac = upper ? mac.toUpperCase() : mac;
        const spoofed = localIp !== IP || mac !== MAC;
        const dp = new Dataplane(rules);
        const r = dp.process(out({ localIp, localMac, remotePort: port }));
        if (spoofed) expect(r.decision).toBe(SPOOFGUARD);
        else expect(r.decision).toEqual(dp.classify(egress('10.0.0.9', 'TCP', port)));
        expect(dp.counters.spoofed).toBe(spoofed ? 1 : 0);
        // The stateless guard on either classifier says the same.
        for (const c of [buildClassifier(rules), buildLinearClassifier(rules)]) {
          const d = withSpoofGuard(rules, c).classify({ ...egress('10.0.0.9', 'TCP', port), localIp, localMac });
          if (spoofed) expect(d).toBe(SPOOFGUARD);
          else expect(d.rule).toBe(port === 443 ? 'web' : 'no-match');
        }
      }),
      { numRuns: 300 },
    );
  });
});
