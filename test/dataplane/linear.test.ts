import { describe, expect, it } from 'vitest';
import { buildLinearClassifier } from '../helpers/linear';
import { cidrPeer, egress, groupPeer, oneProgram, rule, tcp } from './fixtures';

describe('linear classifier (reference semantics)', () => {
  it('takes the first matching rule in order', () => {
    const c = buildLinearClassifier(oneProgram([rule('deny-web', { action: 'Deny', ports: [tcp(80)] }), rule('allow-all')]));
    expect(c.classify(egress('1.2.3.4', 'TCP', 80))).toEqual({ verdict: 'Deny', tier: 'Tenant', policy: 'ns/pol', rule: 'deny-web' });
    expect(c.classify(egress('1.2.3.4', 'TCP', 81)).rule).toBe('allow-all');
  });
  it('denies an unbound vNIC and a packet nothing matches', () => {
    const c = buildLinearClassifier(oneProgram([rule('a', { ports: [tcp(22)] })]));
    expect(c.classify({ ...egress('1.1.1.1'), vnic: 'eth9' })).toEqual({ verdict: 'Deny', tier: 'Default', policy: null, rule: 'unbound' });
    expect(c.classify(egress('1.1.1.1', 'UDP', 22))).toEqual({ verdict: 'Deny', tier: 'Default', policy: null, rule: 'no-match' });
  });
  it('matches CIDR peers with exceptions and address groups', () => {
    const c = buildLinearClassifier(
      oneProgram([rule('g', { peers: [groupPeer('ag-1')] }), rule('c', { peers: [cidrPeer('10.0.0.0/8', '10.1.0.0/16')] })], [], {
        'ag-1': ['192.168.1.1', '172.16.0.0/12'],
      }),
    );
    expect(c.classify(egress('192.168.1.1')).rule).toBe('g');
    expect(c.classify(egress('172.31.255.255')).rule).toBe('g');
    expect(c.classify(egress('192.168.1.2')).rule).toBe('no-match');
    expect(c.classify(egress('10.2.0.1')).rule).toBe('c');
    expect(c.classify(egress('10.1.0.1')).rule).toBe('no-match');
  });
  it('Pass skips the rest of its tier; policy "" becomes null', () => {
    const c = buildLinearClassifier(
      oneProgram([
        rule('pass', { tier: 'Provider', action: 'Pass', policy: 'p/a' }),
        rule('deny', { tier: 'Provider', action: 'Deny', policy: 'p/a' }),
        rule('t', { tier: 'Tenant', ports: [tcp(80)] }),
        rule('iso', { tier: 'Tenant', action: 'Deny', policy: '' }),
      ]),
    );
    expect(c.classify(egress('1.1.1.1', 'TCP', 80)).rule).toBe('t');
    expect(c.classify(egress('1.1.1.1', 'TCP', 81))).toEqual({ verdict: 'Deny', tier: 'Tenant', policy: null, rule: 'iso' });
  });
  it('ICMP matches only port-less ICMP or Any entries', () => {
    const c = buildLinearClassifier(
      oneProgram([
        rule('any-port', { ports: [{ protocol: 'Any', port: 0, endPort: 65535 }] }),
        rule('icmp', { ports: [{ protocol: 'ICMP' }] }),
      ]),
    );
    expect(c.classify(egress('1.1.1.1', 'ICMP', 0)).rule).toBe('icmp');
    expect(c.classify(egress('1.1.1.1', 'UDP', 5)).rule).toBe('any-port');
  });
});
