// Synthetic datacenter generator (`vmsafe gen`, and the benchmarks in memory).
export { generateDatacenter, apportion, NETWORKS, PCI_TAG, GOLD_TAG, POOL_LABEL, TENANT_LABEL } from './datacenter';
export type { Datacenter, GenOptions, Namespace } from './datacenter';
export { writeManifests, FILE_ORDER } from './write';
export type { WriteOptions, WriteResult } from './write';
export { toYaml, toYamlStream } from './yaml';
export { IpPlanner, MacPlanner, TENANT_RANGES } from './addresses';
export { createRng, seedOf } from './rng';
