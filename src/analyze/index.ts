// The analyzer: exact tenant-to-tenant reachability over compiled HostFilters, and what a change
// (a pull request, a staged policy) would open and close. Pure: no I/O; callers bring the filters.
export { analyze, analyzeModel, type Analysis, type OutsideReach, type ReachPair, type Reachability, type RuleRef, type Witness } from './reach';
export { Model, NO_TENANT, type Endpoint, type ModelInput } from './model';
export { formatRanges, fromRanges, toRanges, type PortRange, type PortSet } from './ports';
export { diffAnalyses, type Diff, type HostChange, type PairChange, type SpanChange } from './diff';
export { stagedImpact } from './staged';
export { analyzeWorld, compileWorld, type CompiledWorld } from './world';
