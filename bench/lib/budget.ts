// What the operator asks of a real cluster's kube-apiserver and etcd at vmworld scale: its writes per
// second and bytes per second (measured against the embedded API server, by field manager), set beside
// the published limits, and the cold start those limits allow. A pure function of the measured figures.

/** Published limits (sources in `source`): what a real control plane gives one client. */
export const CLUSTER_LIMITS = {
  etcdMaxRequestBytes: { value: 1.5 * 1024 * 1024, source: 'etcd --max-request-bytes default (1.5 MiB); kube-apiserver refuses larger objects' },
  etcdSequentialIops: {
    value: { typical: 50, heavy: 500 },
    source: 'etcd.io/docs/current/op-guide/hardware: 50 sequential IOPS typical, 500 for heavily loaded clusters (every write is fsynced by a majority)',
  },
  etcdSingleClientWritesPerSecond: {
    value: 60,
    source: 'etcd benchmarks (GCE n1-highcpu-2, local SSD): one client writing one key ~60 writes/s, 64 clients ~1,750, 256 clients ~4,000',
  },
  etcdDiskBandwidthBytesPerSecond: { value: { typical: 10e6, large: 100e6 }, source: 'etcd.io hardware guide: 10 MB/s typical, 100 MB/s for large clusters' },
  kubeApiserverMaxMutatingInflight: { value: 200, source: 'kube-apiserver --max-mutating-requests-inflight default' },
  clientGoDefaultQps: { value: { qps: 5, burst: 10 }, source: 'client-go rest.Config defaults (controller-runtime raises them to 20 / 30)' },
} as const;

export interface PhaseWrites {
  /** Writes stored on behalf of the operator during the phase, and their serialized bytes. */
  writes: number;
  bytes: number;
  seconds: number;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

function rate(p: PhaseWrites) {
  const s = Math.max(p.seconds, 1e-9);
  return { writes: p.writes, bytes: p.bytes, seconds: r2(p.seconds), writesPerSecond: r2(p.writes / s), bytesPerSecond: Math.round(p.bytes / s), meanWriteBytes: p.writes ? Math.round(p.bytes / p.writes) : 0 };
}

/**
 * Seconds a real cluster needs for `writes` writes of `bytes` in total from one client limited to
 * `qps` (client-side rate limit; the API server and etcd keep up at these rates) and `bandwidth` of
 * etcd disk: the larger of the two bounds.
 */
export function secondsAt(writes: number, bytes: number, qps: number, bandwidth: number): number {
  return r2(Math.max(writes / qps, bytes / bandwidth));
}

export function realClusterBudget(m: { coldStart: PhaseWrites; statusSettled: PhaseWrites; largestObjectBytes: number }) {
  const bw = CLUSTER_LIMITS.etcdDiskBandwidthBytesPerSecond.value.typical;
  const estimate = (p: PhaseWrites) => Object.fromEntries([20, 50, 100, 200].map((qps) => [`qps${qps}`, secondsAt(p.writes, p.bytes, qps, bw)]));
  return {
    definition: 'operator writes (field manager vmsafe-operator) measured against the embedded API server; estimates = max(writes / client QPS, bytes / 10 MB/s of etcd disk) on a real cluster',
    measured: { coldStart: rate(m.coldStart), statusSettled: rate(m.statusSettled) },
    largestObjectBytes: m.largestObjectBytes,
    largestObjectFraction: r2(m.largestObjectBytes / CLUSTER_LIMITS.etcdMaxRequestBytes.value),
    estimatedSecondsOnRealCluster: { coldStart: estimate(m.coldStart), statusSettled: estimate(m.statusSettled) },
    limits: CLUSTER_LIMITS,
  };
}
