// `vmsafe gen --hosts N --vms N --tenants N [...] -o DIR`: a synthetic datacenter as manifests.
import { generateDatacenter, writeManifests, type GenOptions } from '../../gen';
import { act, Command, runCommand, verb } from '../program';

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

export function command(): Command {
  return verb('gen', 'generate a synthetic datacenter as manifests')
    .usage('--hosts N --vms N --tenants N -o DIR [flags]')
    .addHelpText('before', `Writes a deterministic synthetic datacenter (same flags and seed → same bytes) as manifests, split
by kind into files of at most 1,000 objects, named so that \`kubectl apply -f DIR\` applies them in
order (namespaces, tags, tenants, hosts, policies, VMs).
`)
    .option('--hosts <n>', 'hosts (capacity 320 VMs / 3,200 vNICs each)')
    .option('--vms <n>', 'VMs')
    .option('--tenants <n>', 'tenants (one namespace each)')
    .option('--vnics-per-vm <n>', 'most vNICs per VM, 1-10 (default 10; mix: most 1, some more)')
    .option('--uniform-vnics', 'every VM gets exactly --vnics-per-vm vNICs', false)
    .option('--pools <n>', 'placement pools (default 8)')
    .option('--policies-per-tenant <n>', 'policies per tenant (default 1-3 each)')
    .option('--seed <s>', 'random seed, number or word (default 1)')
    .option('--pin', 'pin every VM to a feasible host (spec.hostName)', false)
    .option('--chunk <n>', 'objects per file (default 1000)')
    .option('-o, --out <dir>', 'output directory (generated files from an earlier run are replaced)')
    .action(act(gen));
}

export const run = (argv: string[]) => runCommand(command(), argv);

interface GenFlags {
  hosts?: string;
  vms?: string;
  tenants?: string;
  vnicsPerVm?: string;
  uniformVnics: boolean;
  pools?: string;
  policiesPerTenant?: string;
  seed?: string;
  pin: boolean;
  chunk?: string;
  out?: string;
}

async function gen(f: GenFlags): Promise<number> {
  const values = {
    ...f,
    'vnics-per-vm': f.vnicsPerVm,
    'uniform-vnics': f.uniformVnics,
    'policies-per-tenant': f.policiesPerTenant,
  };
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
    process.stderr.write(`vmsafe gen: ${err.message} (see vmsafe gen --help)\n`);
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
