// `vmsafe crds [-o DIR]`: write one CRD per kind (crds/<plural>.vmsafe.io.yaml), or print them all.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { allCRDs, crdFileName, crdYaml } from '../../api/crd';

export async function run(argv: string[]): Promise<number> {
  let out: string | undefined;
  try {
    const { values } = parseArgs({ args: argv, options: { output: { type: 'string', short: 'o' } }, strict: true });
    out = values.output;
  } catch (err) {
    process.stderr.write(`vmsafe crds: ${(err as Error).message}\nusage: vmsafe crds [-o DIR]\n`);
    return 2;
  }
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
