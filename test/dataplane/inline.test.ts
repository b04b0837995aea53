// The inline (atom scan) form of small rule lists, and the bit-vector forms it displaces for them.
import fc from 'fast-check';
import type { HostFilterSpec } from '../../src/api';
import { describe, expect, it } from 'vitest';
import { DIR, PROTO, buildClassifier } from '../../src/dataplane/classifier';
import { parseIPv4 } from '../../src/dataplane/ip';
import { buildLinearClassifier } from '../helpers/linear';
import { hostFilterSpecArb, lookupArb } from './arbitraries';
import { cidrPeer, egress, groupPeer, oneProgram, rule, tcp } from './fixtures';

describe('inline form', () => {
  it('is chosen for small lists, not for lists past the atom limit', () => {
    const small = buildClassifier(oneProgram([rule('a', { ports: [tcp(80), tcp(443)] }), rule('b', { action: 'Deny' })]));
    expect(small.stats.inlineRuleSets).toBe(2); // egress and the empty ingress
    const many = Array.from({ length: 30 }, (_, i) => rule(`r${i}`, { ports: [tcp(i)] }));
    expect(buildClassifier(oneProgram(many)).stats.inlineRuleSets).toBe(1); // only the empty ingress
    expect(buildClassifier(oneProgram(many), { inlineMaxAtoms: 0 }).stats.inlineRuleSets).toBe(0);
  });

  it('matches groups by hash, ranges by interval, and out-of-range ports only port-less', () => {
    const spec = oneProgram(
      [
        rule('grp', { peers: [groupPeer('ag')], ports: [tcp(443)] }),
        rule('pass', { action: 'Pass', peers: [cidrPeer('192.168.0.0/16', '192.168.1.0/24')] }),
        rule('any-tcp', { ports: [tcp()] }),
        rule('deny', { tier: 'Default', action: 'Deny', policy: '' }),
      ],
      [],
      { ag: ['10.1.1.1', '10.2.0.0/16'] },
    );
    const c = buildClassifier(spec);
    const s = c.slot('ns/vm', 'eth0');
    const at = (ip: string, port: number, proto: number = PROTO.TCP) => c.lookup(s, DIR.egress, parseIPv4(ip), proto, port).rule;
    expect(at('10.1.1.1', 443)).toBe('grp');
    expect(at('10.2.7.7', 443)).toBe('grp');
    expect(at('10.1.1.2', 443)).toBe('any-tcp');
    expect(at('192.168.2.1', 443)).toBe('deny'); // Pass skips the rest of the Tenant tier
    expect(at('192.168.1.1', 443)).toBe('any-tcp'); // the except keeps it out of the Pass
    expect(at('10.1.1.1', 70000)).toBe('any-tcp');
    expect(at('10.1.1.1', 0, PROTO.ICMP)).toBe('deny');
    expect(c.classify(egress('10.1.1.1', 'TCP', 443))).toEqual(buildLinearClassifier(spec).classify(egress('10.1.1.1', 'TCP', 443)));
  });

  it('an empty rule list compiled before a rule set does not hide that set\'s decisions (inlining off)', () => {
    // The empty list's decision section sat at the offset the next one was appended at, and recorded its
    // length as 0 there: the next section's decisions were never renumbered, so a Deny came back as nothing.
    const r = (name: string, action: 'Allow' | 'Deny', peers: { group: string }[] = []) => ({ tier: 'Provider' as const, rule: name, action, peers, ports: [] });
    const spec = {
      hostName: 'h',
      hash: 'x',
      addressGroups: [{ id: 'ag-0', addresses: ['0.0.0.0'] }],
      programs: [
        { id: 'p-0', egress: [], ingress: [] },
        { id: 'p-1', egress: [r('a', 'Allow', [{ group: 'ag-0' }])], ingress: [r('d', 'Deny')] },
      ],
      bindings: [{ vm: 'ns/vm', vnic: 'eth0', ip: '10.9.9.9', mac: '02:00:00:00:00:00', program: 'p-1' }],
    } as unknown as HostFilterSpec;
    const l = { vm: 'ns/vm', vnic: 'eth0', direction: 'ingress', remoteIp: '0.0.0.0', protocol: 'TCP', port: 0 } as const;
    expect(buildClassifier(spec, { inlineMaxAtoms: 0 }).classify(l)).toEqual({ verdict: 'Deny', tier: 'Provider', policy: null, rule: 'd' });
    expect(buildLinearClassifier(spec).classify(l)).toEqual({ verdict: 'Deny', tier: 'Provider', policy: null, rule: 'd' });
  });

  it('bit-vector forms still agree with the linear reference when inlining is off (500 cases)', () => {
    fc.assert(
      fc.property(hostFilterSpecArb, fc.array(lookupArb, { minLength: 1, maxLength: 20 }), fc.constantFrom(0, 4), (spec, lookups, inlineMaxAtoms) => {
        const linear = buildLinearClassifier(spec);
        const fast = buildClassifier(spec, { inlineMaxAtoms });
        for (const l of lookups) expect(fast.classify(l)).toEqual(linear.classify(l));
      }),
      { numRuns: 500 },
    );
  });
});
