// `vmsafe dev`: not built yet.
export async function run(_argv: string[]): Promise<number> {
  process.stderr.write('vmsafe dev: not implemented yet\n');
  return 2;
}
