// Which program each VM has in each host filter version the operator wrote: with the agent's
// reported appliedHash this answers "does the applied filter of host H hold VM V's program?",
// the question behind phase Running (DESIGN.md: never Running without it).
const VERSIONS_KEPT = 6;

export class AppliedView {
  /** host → (filter hash → (vm key → program key)), newest last. */
  private readonly versions = new Map<string, Map<string, ReadonlyMap<string, string>>>();

  record(host: string, hash: string, programs: ReadonlyMap<string, string>): void {
    let v = this.versions.get(host);
    if (!v) this.versions.set(host, (v = new Map()));
    v.delete(hash);
    v.set(hash, programs);
    while (v.size > VERSIONS_KEPT) v.delete(v.keys().next().value!);
  }

  forget(host: string): void {
    this.versions.delete(host);
  }

  has(host: string, hash: string): boolean {
    return this.versions.get(host)?.has(hash) ?? false;
  }

  /** Program key VM `vm` has in the filter version `hash` of `host`; undefined if unknown or unbound. */
  programOf(host: string, hash: string | undefined, vm: string): string | undefined {
    if (hash === undefined) return undefined;
    return this.versions.get(host)?.get(hash)?.get(vm);
  }
}
