// microbench (not committed): per-stage cost of the informer's list path on real pages
import { readFileSync } from 'node:fs';
import { parseListItems } from './src/runtime/strip-managed';
import { decodeWith, vm, securityPolicy, tenant } from './src/api';
import { internCommonStrings, StringInterner } from './src/runtime/intern';
import { TreeInterner } from './src/util/tree-intern';
const all: Record<string, any> = { vms: vm, securitypolicies: securityPolicy, tenants: tenant, namespaces: undefined };
const kinds = Object.fromEntries(Object.entries(all).filter(([k]) => !process.env.K || k === process.env.K));
const drops = { metadata: ['managedFields'] };
const R = Number(process.env.R ?? 40);
for (const [k, schema] of Object.entries(kinds)) {
  const b = readFileSync(`/tmp/s14/pages/${k}.json`);
  const t = { scanparse: 0, decode: 0, intern: 0, share: 0 };
  const si = new StringInterner(); const ti = new TreeInterner();
  const keep: unknown[] = [];
  let n = 0;
  for (let r = 0; r < R; r++) {
    let t0 = performance.now();
    const list = parseListItems(b, drops)! as { items: any[] };
    t.scanparse += performance.now() - t0;
    for (const raw of list.items) {
      raw.metadata.name += `-${r}`;
      t0 = performance.now();
      const d = schema ? decodeWith(schema, raw) : { ok: true, value: raw };
      const t1 = performance.now(); t.decode += t1 - t0;
      internCommonStrings(d.value as any, si);
      const t2 = performance.now(); t.intern += t2 - t1;
      ti.shareParts(d.value as any);
      t.share += performance.now() - t2;
      keep.push(d.value); n++;
    }
  }
  const us = (x: number) => (1000 * x / n).toFixed(2);
  console.log(`${k}: ${n} objects, µs/object: scan+parse ${us(t.scanparse)} decode ${us(t.decode)} intern ${us(t.intern)} share ${us(t.share)}`);
}
