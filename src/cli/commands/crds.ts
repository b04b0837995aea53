// `vmsafe crds [-o DIR]`: write one CRD per kind (crds/<plural>.vmsafe.io.yaml), or print them all.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { allCRDs, crdFileName, crdYaml } from '../../api/crd';
import { act, Command, runCommand, verb } from '../program';

export function command(): Command {
  return verb('crds', 'generate the CRDs from the schemas (-o DIR)')
    .option('-o, --output <dir>', 'write one file per CRD here (default: print them all)')
    .action(act((opts: { output?: string }) => crds(opts.output)));
}

export const run = (argv: string[]) => runCommand(command(), argv);

async function crds(out: string | undefined): Promise<number> {
  const crds = allCRDs();
  if (!out) {
    process.stdout.write(crds.map(crdYaml).join('---\n'));
    return 0;
  }
  await mkdir(out, { recursive: true });
  for (const crd of crds) await writeFile(join(out, crdFileName(crd)), crdYaml(crd));
  process.stderr.write(`wrote ${crds.length} CRDs to ${out}\n`);
  return 0;
}
