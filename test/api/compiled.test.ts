// decodeWith parses with zod's compiled fast path (z.compile): for any object, valid or not, it must
// answer exactly what zod's runtime parser answers (decodeWithRuntime): the same verdict, the same
// value with its members in the same order (content hashes are taken over it), the same errors.
// Starts from a valid object of every kind, statuses included, and changes one member at a time.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { load, loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeWith, decodeWithRuntime } from '../../src/api/decode';
import { KIND_BY_NAME } from '../../src/api/registry';
import { REPO_ROOT } from '../helpers/apiserver';
import { mutate, paths } from '../helpers/mutate';

type Obj = { kind: string; [k: string]: unknown };
const examples = readdirSync(join(REPO_ROOT, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => loadAll(readFileSync(join(REPO_ROOT, 'examples', f), 'utf8')) as Obj[])
  .filter((o) => o && typeof o === 'object');
const example = (kind: string) => examples.find((o) => o.kind === kind)!;
const condition = (type: string) => ({ type, status: 'True', reason: type, message: `${type} for generation 1`, observedGeneration: 1, lastTransitionTime: '2026-12-07T00:00:00Z' });
const meta = { uid: 'u-1', resourceVersion: '7', generation: 1, creationTimestamp: '2026-12-07T00:00:00Z', labels: { app: 'web' }, finalizers: ['vmsafe.io/x'] };

// Objects as the operator lists them: server-set metadata and the statuses it and the agents write.
const seeds: Obj[] = [
  { ...example('Tag'), status: { observedGeneration: 1, hosts: 2, vms: 3, networks: 1, conditions: [condition('Ready')] } },
  { ...example('Tenant'), status: { observedGeneration: 1, namespaces: ['acme'], vms: 1, vnics: 1, hosts: 1, policies: 2, conditions: [condition('Ready')] } },
  { ...example('Host'), status: { observedGeneration: 1, allocated: { vms: 1, vnics: 2 }, filter: { desiredHash: 'h', appliedHash: 'h', programs: 1, rules: 4, bindings: 2 }, conditions: [condition('Ready')] } },
  ...examples.filter((o) => o.kind === 'SecurityPolicy').slice(0, 3),
  {
    ...example('SecurityPolicy'),
    status: {
      observedGeneration: 1, vnics: 4, hosts: { desired: 2, realized: 1 }, warnings: ['w'],
      impact: { observedGeneration: 1, summary: 's', opened: [{ from: 'a', to: 'b', ports: 'TCP/22' }], closed: [], vnics: 1, vmsChanged: 1, hostsChanged: 1 },
      conditions: [condition('Accepted'), condition('Realized')],
    },
  },
  {
    ...example('VM'),
    metadata: { ...(example('VM').metadata as object), ...meta, ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u', controller: true }] },
    status: { observedGeneration: 1, phase: 'Running', tenant: 'acme', hostName: 'h1', program: 'ps-1', conditions: [condition('Scheduled'), condition('Protected')] },
  },
  load(`
apiVersion: vmsafe.io/v1alpha1
kind: HostFilter
metadata: { name: h1, generation: 2 }
spec:
  hostName: h1
  hash: x
  addressGroups: [{ id: ag-1, addresses: [10.0.0.1, 10.1.0.0/16] }, { id: ags-2, addresses: [], shared: true }]
  programs:
    - id: p-1
      egress: [{ tier: Default, rule: default-deny, action: Deny }]
      ingress:
        - { tier: Tenant, policy: acme/web, rule: http, action: Allow, peers: [{ group: ag-1 }, { cidr: 10.0.0.0/8, except: [10.1.0.0/16] }], ports: [{ protocol: TCP, port: 80, endPort: 90 }] }
  bindings: [{ vm: acme/web-1, vnic: eth0, ip: 10.0.0.1, mac: "aa:bb:cc:00:00:01", program: p-1 }]
status: { observedGeneration: 2, bootId: b, appliedHash: x, appliedAt: t, programs: 1, rules: 2, bindings: 1, counters: { lookups: 1, spoofed: 0 }, conditions: [{ type: Applied, status: "True", reason: Applied, message: m, lastTransitionTime: t }] }
`) as Obj,
  load(`
apiVersion: vmsafe.io/v1alpha1
kind: AddressGroup
metadata: { name: ags-2-10-1, labels: { vmsafe.io/address-group: ags-2 } }
spec: { group: ags-2, prefix: 10.1.0.0/16, addresses: [10.1.0.1, 10.1.2.0/24], hash: h }
`) as Obj,
];

/** A kind's schema, and the partial schemas an informer parses with (without the parts it knows valid). */
function schemasOf(kind: string): z.ZodType[] {
  const whole = KIND_BY_NAME.get(kind)!.schema as z.ZodObject;
  return [whole, whole.omit({ spec: true }), whole.omit({ status: true }), whole.omit({ spec: true, status: true })];
}

/**
 * Where `a` and `b` differ: prototypes, own keys in order, or values; undefined when they are the same.
 * (Not toStrictEqual: it compares `.constructor`, which a JSON object may carry as an own member.)
 */
function difference(a: unknown, b: unknown, at = ''): string | undefined {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return Object.is(a, b) ? undefined : `${at}: ${String(a)} vs ${String(b)}`;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${at}: another prototype`;
  const ka = Reflect.ownKeys(a);
  const kb = Reflect.ownKeys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return `${at}: keys ${ka.map(String).join(',')} vs ${kb.map(String).join(',')}`;
  for (const k of ka) {
    const d = difference((a as Record<PropertyKey, unknown>)[k], (b as Record<PropertyKey, unknown>)[k], `${at}.${String(k)}`);
    if (d) return d;
  }
  return undefined;
}

/** decodeWith and the runtime parser on fresh copies of `input` (neither may change what it is given). */
function both(schema: z.ZodType, input: unknown) {
  const copy = () => (input === undefined ? undefined : JSON.parse(JSON.stringify(input)));
  return { compiled: decodeWith(schema, copy()), runtime: decodeWithRuntime(schema, copy()) };
}

describe('decodeWith (zod compiled) answers what the runtime parser answers', () => {
  it('the fast path is real: zod compiles every kind schema and the partial ones without refusing a part', () => {
    // A schema zod cannot model comes back unchanged from z.compile (the runtime parser, 2-3 x slower):
    // strict mode throws instead, naming the feature, so a schema change that loses the fast path fails here.
    for (const seed of seeds) for (const schema of schemasOf(seed.kind)) expect(() => z.compile(schema, { strict: true }), seed.kind).not.toThrow();
  });

  it('for the seeds: each is valid, defaults applied the same way', () => {
    for (const seed of seeds)
      for (const schema of schemasOf(seed.kind)) {
        const { compiled, runtime } = both(schema, seed);
        expect(runtime.ok, `${seed.kind}: ${JSON.stringify(runtime)}`).toBe(true);
        expect(difference(compiled, runtime)).toBeUndefined();
      }
  });

  it('for any seed with one member changed or added: the same verdict, value (in member order) and errors', () => {
    const key = fc.option(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'status', 'spec', 'name', 'tags', ''), fc.string({ maxLength: 6 })), { nil: undefined });
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.constantFrom(null, '', -1, 0.5, 65536, 2 ** 31, 1e400 as number, '0.0.0.0/0', '10.0.0.1', '10.0.0.300', 'aa:bb:cc:dd:ee:ff', 'Allow', 'Pass', 'TCP', 'ICMP', 'On', 'Staged', 'Provider', 'UPPER', [], {}, [{}], { __proto__: null, x: 1 }),
    );
    let valid = 0;
    let invalid = 0;
    fc.assert(
      fc.property(fc.nat(seeds.length - 1), fc.nat(3), fc.nat(), key, value, (which, variant, pick, k, v) => {
        const seed = seeds[which]!;
        const all = paths(seed);
        const input = mutate(seed, all[pick % all.length]!, k, v);
        const { compiled, runtime } = both(schemasOf(seed.kind)[variant]!, input);
        if (runtime.ok) valid++;
        else invalid++;
        expect(difference(compiled, runtime), JSON.stringify(input)).toBeUndefined();
      }),
      { numRuns: 3000 },
    );
    // The space covered both ways: objects the fast path accepts, and ones it hands to the runtime.
    expect(valid).toBeGreaterThan(300);
    expect(invalid).toBeGreaterThan(300);
  });
});
