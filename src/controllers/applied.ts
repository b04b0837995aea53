// Which program each VM has in each host filter version the operator wrote: with the agent's
// reported appliedHash this answers "does the applied filter of host H hold VM V's program?",
// the question behind phase Running (DESIGN.md: never Running without it).
const VERSIONS_KEPT = 6;

/** Written versions kept per host whatever the compile rate (the agent reports one of the last few). */
const WRITTEN_KEPT = 3;

/** How many replaced filter versions per host keep their "current until" compile sequence. */
const RETIRED_KEPT = 16;

export class AppliedView {
  /**
   * Per host: the current compiled hash, and for replaced hashes the last compile sequence at which
   * each was still the host's spec. A filter with hash H "includes" compile S iff H was the host's spec
   * at some compile >= S: its content is then what S (or a later compile) produced for that host.
   */
  private readonly epochs = new Map<string, { current: string; retired: Map<string, number> }>();

  /** host → (filter hash → (vm key → program key)), newest last. */
  private readonly versions = new Map<string, Map<string, ReadonlyMap<string, string>>>();
  /**
   * The versions last written to the API server, per host. Compiled versions come much faster than
   * written ones during a cold start (a write per host is paced), so the version an agent reports may
   * have left `versions` long ago: without these, no VM would become Running until compiles stop.
   */
  private readonly written = new Map<string, Array<{ hash: string; programs: ReadonlyMap<string, string> }>>();

  /** The HostFilter controller wrote version `hash` of `host` (recorded by a compile before). */
  wrote(host: string, hash: string): void {
    const programs = this.versions.get(host)?.get(hash);
    if (!programs) return;
    let list = this.written.get(host);
    if (!list) this.written.set(host, (list = []));
    const i = list.findIndex((w) => w.hash === hash);
    if (i >= 0) list.splice(i, 1);
    list.push({ hash, programs });
    if (list.length > WRITTEN_KEPT) list.shift();
  }

  record(host: string, hash: string, programs: ReadonlyMap<string, string>): void {
    let v = this.versions.get(host);
    if (!v) this.versions.set(host, (v = new Map()));
    v.delete(hash);
    v.set(hash, programs);
    while (v.size > VERSIONS_KEPT) v.delete(v.keys().next().value!);
  }

  /** Compile `seq` made `hash` the spec of `host` (called for every host a compile changed). */
  advance(host: string, hash: string, seq: number): void {
    const e = this.epochs.get(host);
    if (!e) {
      this.epochs.set(host, { current: hash, retired: new Map() });
      return;
    }
    if (e.current === hash) return;
    e.retired.delete(e.current);
    e.retired.set(e.current, seq - 1);
    e.retired.delete(hash);
    e.current = hash;
    if (e.retired.size <= RETIRED_KEPT) return;
    // Drop the oldest, but never a version still written to the API server: the agent may hold it
    // for long (a newer filter too large to write), and what it enforces must stay "included".
    const kept = new Set((this.written.get(host) ?? []).map((w) => w.hash));
    for (const h of e.retired.keys()) {
      if (e.retired.size <= RETIRED_KEPT) break;
      if (!kept.has(h)) e.retired.delete(h);
    }
  }

  /** Whether `hash` is a version of `host` this view can answer `includes` for (current or retired). */
  knowsEpoch(host: string, hash: string): boolean {
    const e = this.epochs.get(host);
    return !!e && (e.current === hash || e.retired.has(hash));
  }

  /** Whether the filter `hash` of `host` holds what compile `seq` (or a later one) produced. */
  includes(host: string, hash: string | undefined, seq: number): boolean {
    const e = hash === undefined ? undefined : this.epochs.get(host);
    if (!e) return false;
    if (e.current === hash) return true;
    return (e.retired.get(hash!) ?? -1) >= seq;
  }

  forget(host: string): void {
    this.epochs.delete(host);
    this.versions.delete(host);
    this.written.delete(host);
  }

  private programsOf(host: string, hash: string): ReadonlyMap<string, string> | undefined {
    return this.versions.get(host)?.get(hash) ?? this.written.get(host)?.find((w) => w.hash === hash)?.programs;
  }

  has(host: string, hash: string): boolean {
    return this.programsOf(host, hash) !== undefined;
  }

  /**
   * Whether version `hash` of `host` is known here both by its compile epoch (includes) and by its
   * programs (programOf): only two known versions can be compared (see CompileFeed.appliedMoved).
   */
  knows(host: string, hash: string | undefined): boolean {
    return hash !== undefined && this.knowsEpoch(host, hash) && this.has(host, hash);
  }

  /**
   * Whether the agent of `host` going from applied version `from` to `to` can change what an input
   * compiled at `seq` (undefined: not compiled) has realized there (includes), or, given `vm`, the
   * program that VM has there (programOf): the only facts a status reads from an applied filter.
   * Either version unknown here (never compiled, or evicted): true, as anything may have moved.
   */
  moved(host: string, from: string | undefined, to: string | undefined, seq: number | undefined, vm?: string): boolean {
    if (!this.knows(host, from) || !this.knows(host, to)) return true;
    if (seq !== undefined && this.includes(host, from, seq) !== this.includes(host, to, seq)) return true;
    return vm !== undefined && this.programOf(host, from, vm) !== this.programOf(host, to, vm);
  }

  /** Program key VM `vm` has in the filter version `hash` of `host`; undefined if unknown or unbound. */
  programOf(host: string, hash: string | undefined, vm: string): string | undefined {
    if (hash === undefined) return undefined;
    return this.programsOf(host, hash)?.get(vm);
  }
}
