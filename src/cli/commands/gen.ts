// `vmsafe gen --hosts N --vms N --tenants N [...] -o DIR`: a synthetic datacenter as manifests.
import { parseArgs } from 'node:util';
import { generateDatacenter, writeManifests, type GenOptions } from '../../gen';

const USAGE = `usage: vmsafe gen --hosts N --vms N --tenants N -o DIR [flags]

Writes a deterministic synthetic datacenter (same flags and seed → same bytes) as manifests, split
by kind into files of at most 1,000 objects, named so that \`kubectl apply -f DIR\` applies them in
order (namespaces, tags, tenants, hosts, policies, VMs).

flags:
  --hosts N                hosts (capacity 320 VMs / 3,200 vNICs each)
  --vms N                  VMs
  --tenants N              tenants (one namespace each)
  --vnics-per-vm N         most vNICs per VM, 1-10 (default 10; mix: most 1, some more)
  --uniform-vnics          every VM gets exactly --vnics-per-vm vNICs
  --pools N                placement pools (default 8)
  --policies-per-tenant N  policies per tenant (default 1-3 each)
  --seed S                 random seed, number or word (default 1)
  --pin                    pin every VM to a feasible host (spec.hostName)
  --chunk N                objects per file (default 1000)
  -o, --out DIR            output directory (generated files from an earlier run are replaced)
`;

function positiveInt(name: string, v: string | undefined, required: boolean): number | undefined {
  if (v === undefined) {
    if (required) throw new UsageError(`--${name} is required`);
    return undefined;
  }
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number, got "${v}"`);
  return Number(v);
}

class UsageError extends Error {}

/** A one-line progress bar, redrawn in place; only used when stderr is a terminal. */
function progressBar(stream: NodeJS.WriteStream) {
  let last = -1;
  return (done: number, total: number) => {
    const pct = total ? Math.floor((done / total) * 100) : 100;
    if (pct === last) return;
    last = pct;
    const width = 30;
    const fill = Math.round((pct / 100) * width);
    stream.write(`\r[${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${String(pct).padStart(3)}% ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} objects`);
    if (done >= total) stream.write('\n');
  };
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        hosts: { type: 'string' },
        vms: { type: 'string' },
        tenants: { type: 'string' },
        'vnics-per-vm': { type: 'string' },
        'uniform-vnics': { type: 'boolean', default: false },
        pools: { type: 'string' },
        'policies-per-tenant': { type: 'string' },
        seed: { type: 'string' },
        pin: { type: 'boolean', default: false },
        chunk: { type: 'string' },
        out: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    process.stderr.write(`vmsafe gen: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let opts: GenOptions;
  let chunk: number | undefined;
  try {
    if (!values.out) throw new UsageError('-o DIR is required');
    opts = {
      hosts: positiveInt('hosts', values.hosts, true)!,
      vms: positiveInt('vms', values.vms, true)!,
      tenants: positiveInt('tenants', values.tenants, true)!,
      uniformVnics: values['uniform-vnics'],
      pin: values.pin,
    };
    const vnics = positiveInt('vnics-per-vm', values['vnics-per-vm'], false);
    if (vnics !== undefined) opts.vnicsPerVm = vnics;
    const pools = positiveInt('pools', values.pools, false);
    if (pools !== undefined) opts.pools = pools;
    const ppt = positiveInt('policies-per-tenant', values['policies-per-tenant'], false);
    if (ppt !== undefined) opts.policiesPerTenant = ppt;
    if (values.seed !== undefined) opts.seed = /^\d+$/.test(values.seed) ? Number(values.seed) : values.seed;
    chunk = positiveInt('chunk', values.chunk, false);
    if (chunk === 0) throw new UsageError('--chunk must be at least 1');
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`vmsafe gen: ${err.message}\n\n${USAGE}`);
    return 2;
  }

  let dc;
  try {
    dc = generateDatacenter(opts);
  } catch (err) {
    process.stderr.write(`vmsafe gen: ${(err as Error).message}\n`);
    return 1;
  }
  const tty = process.stderr.isTTY === true;
  const res = writeManifests(dc, values.out!, { ...(chunk ? { chunk } : {}), ...(tty ? { progress: progressBar(process.stderr) } : {}) });
  const vnics = dc.vms.reduce((n, v) => n + v.spec.vnics.length, 0);
  const n = (x: number) => x.toLocaleString('en-US');
  process.stdout.write(
    `wrote ${n(res.objects)} objects in ${res.files.length} files (${(res.bytes / 2 ** 20).toFixed(1)} MiB) to ${values.out}: ` +
      `${n(dc.hosts.length)} hosts, ${n(dc.tenants.length)} tenants, ${n(dc.vms.length)} VMs, ${n(vnics)} vNICs, ` +
      `${n(dc.policies.length)} policies, ${n(dc.tags.length)} tags\n`,
  );
  return 0;
}
