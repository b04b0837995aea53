import { describe, expect, it } from 'vitest';
import { decideVm, type HostState, type VmDecision } from '../../src/placement';
import { host, hostMap, poolHost, tags, tenant, vm, type VmBuilder } from './builders';

const TAGS = tags({ 'pool-a': 'Required', pci: 'Required', web: 'Preferred' });

interface Opts {
  programKey?: string | null;
  applied?: Record<string, string[]>;
  programsOn?: Record<string, string[]>;
  /** Hosts whose applied filter holds the VM's current generation (absent: every host). */
  genApplied?: string[];
}
function decide(b: VmBuilder, hosts: HostState[], o: Opts = {}): VmDecision {
  const applied = o.applied ?? {};
  return decideVm({
    vm: b.build(),
    tenant: tenant('pool-a'),
    tagsByName: TAGS,
    hosts: hostMap(...hosts),
    programKey: o.programKey === null ? undefined : (o.programKey ?? 'p-new'),
    appliedPrograms: (h) => (applied[h] ? new Set(applied[h]) : undefined),
    programsOn: (h) => (o.programsOn?.[h] ? new Set(o.programsOn[h]) : undefined),
    ...(o.genApplied ? { generationApplied: (h: string) => o.genApplied!.includes(h) } : {}),
  });
}
const conds = (d: VmDecision) => Object.fromEntries(d.status.conditions.map((c) => [c.type, `${c.status}/${c.reason}`]));
const message = (d: VmDecision, type: string) => d.status.conditions.find((c) => c.type === type)!.message;

const h1 = () => poolHost('h1', 'pool-a');
const h2 = () => poolHost('h2', 'pool-a');
const bad = () => poolHost('h1', 'pool-b'); // h1 without the tenant's pool tag

describe('decideVm', () => {
  it('powered off with no host: Off, nothing to do', () => {
    const d = decide(vm('v').off(), [h1().build()]);
    expect(d.status).toMatchObject({ phase: 'Off' });
    expect(d.status.hostName).toBeUndefined();
    expect(conds(d)).toEqual({ Scheduled: 'False/PoweredOff', PlacementCompliant: 'True/PoweredOff', Protected: 'True/PoweredOff' });
    expect(d.action).toEqual({ type: 'None' });
  });

  it('powered off while on a host: releases it', () => {
    const d = decide(vm('v').off().status({ phase: 'Running', hostName: 'h1' }), [h1().build()]);
    expect(d.status.phase).toBe('Off');
    expect(d.action).toEqual({ type: 'Release', host: 'h1' });
  });

  it('new VM, program applied on the chosen host: bound and Running', () => {
    const d = decide(vm('v'), [h1().build()], { applied: { h1: ['p-new'] } });
    expect(d.status).toMatchObject({ phase: 'Running', hostName: 'h1', program: 'p-new' });
    expect(conds(d)).toEqual({ Scheduled: 'True/Scheduled', PlacementCompliant: 'True/Compliant', Protected: 'True/ProgramApplied' });
    expect(message(d, 'PlacementCompliant')).toBe('host h1 carries the required tags pool-a and networks prod');
    expect(d.action).toEqual({ type: 'Bind', host: 'h1' });
  });

  it('new VM, program not applied yet: Scheduled until the host applies it', () => {
    const d = decide(vm('v'), [h1().build()]);
    expect(d.status).toMatchObject({ phase: 'Scheduled', hostName: 'h1' });
    expect(conds(d).Protected).toBe('False/FilterNotApplied');
    expect(message(d, 'Protected')).toBe('host h1 has not applied program p-new yet');
    expect(d.action).toEqual({ type: 'Bind', host: 'h1' });
  });

  it('new VM, program not compiled yet: Scheduled, ProgramNotCompiled', () => {
    const d = decide(vm('v'), [h1().build()], { programKey: null, applied: { h1: ['p-other'] } });
    expect(d.status.phase).toBe('Scheduled');
    expect(conds(d).Protected).toBe('False/ProgramNotCompiled');
  });

  it('prefers the host that already carries the program', () => {
    const d = decide(vm('v'), [h1().build(), h2().allocated(100, 100).build()], { programsOn: { h2: ['p-new'] } });
    expect(d.status.hostName).toBe('h2');
  });

  it('no feasible host: Pending with the aggregated reasons', () => {
    const d = decide(vm('v').withTags('pci'), [h1().build(), h2().notReady().build()]);
    expect(d.status.phase).toBe('Pending');
    expect(d.status.hostName).toBeUndefined();
    expect(conds(d)).toEqual({ Scheduled: 'False/Unschedulable', PlacementCompliant: 'Unknown/NotScheduled', Protected: 'Unknown/NotScheduled' });
    expect(message(d, 'Scheduled')).toBe('0/2 hosts are available: 2 MissingTags, 2 NetworkTagMismatch, 1 NotReady.');
    expect(d.action).toEqual({ type: 'None' });
  });

  it('an unknown VM tag is required and reported', () => {
    const d = decide(vm('v').withTags('pcii'), [h1().build()]);
    expect(message(d, 'Scheduled')).toContain('Tags with no Tag object, treated as Required: pcii.');
  });

  it('pinned to a host that does not exist: Pending HostNotFound', () => {
    const d = decide(vm('v').pinnedTo('h9'), [h1().build()]);
    expect(d.status.phase).toBe('Pending');
    expect(conds(d).Scheduled).toBe('False/HostNotFound');
  });

  it('pinned to an infeasible host: Quarantined there, once', () => {
    const d = decide(vm('v').pinnedTo('h1'), [bad().build(), h2().build()], { applied: { h1: ['p-new'] } });
    expect(d.status).toMatchObject({ phase: 'Quarantined', hostName: 'h1' });
    expect(conds(d)).toEqual({ Scheduled: 'True/Pinned', PlacementCompliant: 'False/MissingTags', Protected: 'False/Quarantined' });
    expect(message(d, 'PlacementCompliant')).toBe('host h1 lacks tags pool-a; network prod on host h1 lacks tags pool-a');
    expect(d.action).toEqual({ type: 'Quarantine', host: 'h1', reason: 'MissingTags' });
    const again = decide(vm('v').pinnedTo('h1').status({ phase: 'Quarantined', hostName: 'h1' }), [bad().build()]);
    expect(again.action).toEqual({ type: 'None' });
  });

  it('pinned to a Ready but cordoned host: runs there (cordon does not evict)', () => {
    const d = decide(vm('v').pinnedTo('h1'), [h1().cordoned().build()], { applied: { h1: ['p-new'] } });
    expect(d.status).toMatchObject({ phase: 'Running', hostName: 'h1' });
    expect(conds(d).Scheduled).toBe('True/Pinned');
  });

  it('pinned to a full host: Quarantined with InsufficientCapacity', () => {
    const d = decide(vm('v').pinnedTo('h1'), [h1().capacity(1, 10).allocated(1, 1).build()]);
    expect(d.status.phase).toBe('Quarantined');
    expect(conds(d).PlacementCompliant).toBe('False/InsufficientCapacity');
  });

  it('Running on a compliant host: stays, nothing to do', () => {
    const d = decide(vm('v').status({ phase: 'Running', hostName: 'h1', program: 'p-new' }), [h1().allocated(1, 1).build(), h2().build()], {
      applied: { h1: ['p-new'] },
    });
    expect(d.status).toMatchObject({ phase: 'Running', hostName: 'h1' });
    expect(d.action).toEqual({ type: 'None' });
  });

  it('Running on a host that got cordoned: stays Running', () => {
    const d = decide(vm('v').status({ phase: 'Running', hostName: 'h1' }), [h1().cordoned().build(), h2().build()], { applied: { h1: ['p-new'] } });
    expect(d.status).toMatchObject({ phase: 'Running', hostName: 'h1' });
  });

  it('policy update not applied yet: stays Running on the previous program (UpdatePending)', () => {
    const d = decide(vm('v').status({ phase: 'Running', hostName: 'h1', program: 'p-old' }), [h1().build()], { applied: { h1: ['p-old'] } });
    expect(d.status).toMatchObject({ phase: 'Running', hostName: 'h1', program: 'p-old' });
    expect(conds(d).Protected).toBe('True/UpdatePending');
    expect(d.action).toEqual({ type: 'None' });
  });

  it('spec edit not applied yet: stays Running on its program, Protected=False GenerationPending', () => {
    const d = decide(vm('v').status({ phase: 'Running', hostName: 'h1', program: 'p-new' }), [h1().build()], { applied: { h1: ['p-new'] }, genApplied: [] });
    expect(d.status).toMatchObject({ phase: 'Running', hostName: 'h1', program: 'p-new' });
    expect(conds(d).Protected).toBe('False/GenerationPending');
    expect(message(d, 'Protected')).toBe('host h1 has not applied this generation of the VM yet; it enforces program p-new on the previous one');
  });

  it('new VM whose program is applied but not its generation (bindings): Scheduled, not Running', () => {
    const d = decide(vm('v'), [h1().build()], { applied: { h1: ['p-new'] }, genApplied: [] });
    expect(d.status.phase).toBe('Scheduled');
    expect(conds(d).Protected).toBe('False/GenerationPending');
    expect(message(d, 'Protected')).toBe('host h1 has not applied this generation of the VM yet');
  });

  it('Migrating: the target applied the program but not the generation: keeps waiting on the source', () => {
    const d = decide(vm('v').status({ phase: 'Migrating', hostName: 'h1', targetHostName: 'h2', program: 'p-new' }), [bad().build(), h2().build()], {
      applied: { h1: ['p-new'], h2: ['p-new'] },
      genApplied: ['h1'],
    });
    expect(d.status).toMatchObject({ phase: 'Migrating', hostName: 'h1', targetHostName: 'h2' });
    expect(d.action).toEqual({ type: 'None' });
  });

  it('bound but the host applies neither program: Scheduled, not Running', () => {
    const d = decide(vm('v').status({ phase: 'Running', hostName: 'h1', program: 'p-old' }), [h1().build()], { applied: { h1: [] } });
    expect(d.status).toMatchObject({ phase: 'Scheduled', hostName: 'h1', program: 'p-new' });
  });

  it('Running on a host that lost a required tag: starts a make-before-break migration', () => {
    const d = decide(vm('v').status({ phase: 'Running', hostName: 'h1', program: 'p-new' }), [bad().build(), h2().build()], {
      applied: { h1: ['p-new'] },
    });
    expect(d.status).toMatchObject({ phase: 'Migrating', hostName: 'h1', targetHostName: 'h2' });
    expect(conds(d)).toEqual({ Scheduled: 'True/Scheduled', PlacementCompliant: 'False/MissingTags', Protected: 'True/ProgramApplied' });
    expect(message(d, 'PlacementCompliant')).toContain('; migrating to host h2');
    expect(d.action).toEqual({ type: 'StartMigration', from: 'h1', to: 'h2' });
  });

  it('Running on a host that is no longer Ready: migrates, source no longer shown protected if it applies nothing', () => {
    const d = decide(vm('v').status({ phase: 'Running', hostName: 'h1', program: 'p-new' }), [h1().notReady().build(), h2().build()]);
    expect(d.status).toMatchObject({ phase: 'Migrating', hostName: 'h1', targetHostName: 'h2' });
    expect(conds(d).PlacementCompliant).toBe('False/NotReady');
    expect(conds(d).Protected).toBe('False/FilterNotApplied');
  });

  it('Migrating, target not applied yet: keeps waiting on the same target', () => {
    const d = decide(
      vm('v').status({ phase: 'Migrating', hostName: 'h1', targetHostName: 'h2' }),
      [bad().build(), h2().allocated(1, 1).build(), poolHost('h0', 'pool-a').build()],
      { applied: { h1: ['p-new'] } },
    );
    expect(d.status).toMatchObject({ phase: 'Migrating', hostName: 'h1', targetHostName: 'h2' });
    expect(d.action).toEqual({ type: 'None' });
  });

  it('Migrating, target reports the program applied: completes, Running on the target', () => {
    const d = decide(vm('v').status({ phase: 'Migrating', hostName: 'h1', targetHostName: 'h2' }), [bad().build(), h2().build()], {
      applied: { h1: ['p-new'], h2: ['p-new'] },
    });
    expect(d.status).toMatchObject({ phase: 'Running', hostName: 'h2' });
    expect(d.status.targetHostName).toBeUndefined();
    expect(d.action).toEqual({ type: 'CompleteMigration', from: 'h1', to: 'h2' });
  });

  it('Migrating, source compliant again: cancels and stays', () => {
    const d = decide(vm('v').status({ phase: 'Migrating', hostName: 'h1', targetHostName: 'h2' }), [h1().build(), h2().build()], {
      applied: { h1: ['p-new'] },
    });
    expect(d.status).toMatchObject({ phase: 'Running', hostName: 'h1' });
    expect(d.status.targetHostName).toBeUndefined();
    expect(d.action).toEqual({ type: 'CancelMigration', from: 'h1', to: 'h2' });
  });

  it('Migrating, target became infeasible: retargets', () => {
    const d = decide(
      vm('v').status({ phase: 'Migrating', hostName: 'h1', targetHostName: 'h2' }),
      [bad().build(), h2().notReady().build(), poolHost('h3', 'pool-a').build()],
      { applied: { h1: ['p-new'] } },
    );
    expect(d.status).toMatchObject({ phase: 'Migrating', targetHostName: 'h3' });
    expect(d.action).toEqual({ type: 'StartMigration', from: 'h1', to: 'h3' });
  });

  it('Running on a non-compliant host with nowhere to go: Quarantined in place', () => {
    const d = decide(vm('v').status({ phase: 'Running', hostName: 'h1' }), [bad().build()], { applied: { h1: ['p-new'] } });
    expect(d.status).toMatchObject({ phase: 'Quarantined', hostName: 'h1' });
    expect(conds(d).PlacementCompliant).toBe('False/MissingTags');
    expect(message(d, 'PlacementCompliant')).toContain('no host can take it: 0/1 hosts are available');
    expect(d.action).toEqual({ type: 'Quarantine', host: 'h1', reason: 'MissingTags' });
  });

  it('Quarantined in place, then a host appears: bound there directly (it was not running)', () => {
    const d = decide(vm('v').status({ phase: 'Quarantined', hostName: 'h1' }), [bad().build(), h2().build()], { applied: { h2: ['p-new'] } });
    expect(d.status).toMatchObject({ phase: 'Running', hostName: 'h2' });
    expect(d.action).toEqual({ type: 'Bind', host: 'h2' });
  });

  it('Scheduled (not yet running) on a host that became non-compliant: rebinds without migrating', () => {
    const d = decide(vm('v').status({ phase: 'Scheduled', hostName: 'h1' }), [bad().build(), h2().build()]);
    expect(d.status).toMatchObject({ phase: 'Scheduled', hostName: 'h2' });
    expect(d.action).toEqual({ type: 'Bind', host: 'h2' });
  });

  it('its host was deleted: bound to another', () => {
    const d = decide(vm('v').status({ phase: 'Running', hostName: 'gone' }), [h2().build()]);
    expect(d.status).toMatchObject({ phase: 'Scheduled', hostName: 'h2' });
    expect(message(d, 'Scheduled')).toBe('bound to host h2 (host gone is gone)');
    expect(d.action).toEqual({ type: 'Bind', host: 'h2' });
  });

  it('its host was deleted and nothing fits: Pending, released', () => {
    const d = decide(vm('v').status({ phase: 'Running', hostName: 'gone' }), [bad().build()]);
    expect(d.status.phase).toBe('Pending');
    expect(d.action).toEqual({ type: 'Release', host: 'gone' });
  });

  it('re-pinned elsewhere while Running: migrates to the pin (PinnedElsewhere)', () => {
    const d = decide(vm('v').pinnedTo('h2').status({ phase: 'Running', hostName: 'h1' }), [h1().build(), h2().build()], {
      applied: { h1: ['p-new'] },
    });
    expect(d.status).toMatchObject({ phase: 'Migrating', hostName: 'h1', targetHostName: 'h2' });
    expect(conds(d)).toMatchObject({ Scheduled: 'True/Pinned', PlacementCompliant: 'False/PinnedElsewhere' });
  });

  it('host without the network the vNIC names: not chosen', () => {
    const d = decide(vm('v').vnics('prod', 'storage'), [h1().build(), h2().net('storage', 'pool-a').build()]);
    expect(d.status.hostName).toBe('h2');
    const none = decide(vm('v').vnics('storage'), [host('h1').withTags('pool-a').net('storage').build()]);
    expect(message(none, 'Scheduled')).toBe('0/1 hosts are available: 1 NetworkTagMismatch.');
  });
});
