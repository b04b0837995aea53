// The core workload kinds kubectl asks every server for: `kubectl apply --prune`'s default allowlist,
// `kubectl get all` (category "all") and `kubectl cluster-info` (kube-system Services). They are real,
// storable kinds with kube's table columns; nothing here runs them (no scheduler, no controllers), so
// their status is only what a client wrote.
import type { Obj } from './store';
import { age, ageColumn, col, nameColumn, type TableColumn } from './table';

/** The fields of a built-in ResourceDef these kinds set (resources.ts fills in the rest). */
export interface WorkloadKind {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  fields: string[];
  statusSubresource?: boolean;
  generation?: 'cr' | 'none';
  columns: TableColumn[];
}

const none = (s: string | undefined) => (s ? s : '<none>');
const num = (v: unknown) => String(typeof v === 'number' ? v : 0);
const selector = (m: Obj | undefined) => (m && Object.keys(m).length ? Object.entries(m).map(([k, v]) => `${k}=${v}`).join(',') : '<none>');
const labelSelector = (s: Obj | undefined) => selector(s?.matchLabels);
const images = (o: Obj) => (o.spec?.template?.spec?.containers ?? []).map((c: Obj) => c.image).join(',');
const containers = (o: Obj) => (o.spec?.template?.spec?.containers ?? []).map((c: Obj) => c.name).join(',');
const wide = (name: string, cell: TableColumn['cell']) => col(name, 'string', cell, 1);

/** printPod: READY is ready/total containers, STATUS the phase (or the reason), RESTARTS summed. */
const podColumns: TableColumn[] = [
  nameColumn,
  col('Ready', 'string', (o) => `${(o.status?.containerStatuses ?? []).filter((c: Obj) => c.ready).length}/${(o.spec?.containers ?? []).length}`),
  col('Status', 'string', (o) => o.status?.reason ?? o.status?.phase ?? ''),
  col('Restarts', 'string', (o) => String((o.status?.containerStatuses ?? []).reduce((n: number, c: Obj) => n + (c.restartCount ?? 0), 0))),
  ageColumn,
  wide('IP', (o) => none(o.status?.podIP)),
  wide('Node', (o) => none(o.spec?.nodeName)),
];

const servicePorts = (o: Obj) =>
  (o.spec?.ports ?? []).map((p: Obj) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',') || '<none>';
const serviceColumns: TableColumn[] = [
  nameColumn,
  col('Type', 'string', (o) => o.spec?.type ?? 'ClusterIP'),
  col('Cluster-IP', 'string', (o) => none(o.spec?.clusterIP)),
  col('External-IP', 'string', (o) => none([...(o.spec?.externalIPs ?? []), ...(o.status?.loadBalancer?.ingress ?? []).map((i: Obj) => i.ip ?? i.hostname)].join(','))),
  col('Port(s)', 'string', servicePorts),
  ageColumn,
  wide('Selector', (o) => selector(o.spec?.selector)),
];

const replicas = (o: Obj) => num(o.spec?.replicas ?? 1);
const setColumns = (ready: 'ratio' | 'counts'): TableColumn[] => [
  nameColumn,
  ...(ready === 'ratio'
    ? [col('Ready', 'string', (o) => `${num(o.status?.readyReplicas)}/${replicas(o)}`)]
    : [col('Desired', 'integer', replicas), col('Current', 'integer', (o) => num(o.status?.replicas)), col('Ready', 'integer', (o) => num(o.status?.readyReplicas))]),
];
const podTemplateWide = [wide('Containers', containers), wide('Images', images), wide('Selector', (o) => labelSelector(o.spec?.selector))];

export const WORKLOAD_KINDS: WorkloadKind[] = [
  {
    group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true, shortNames: ['po'], categories: ['all'],
    fields: ['spec', 'status'], statusSubresource: true, columns: podColumns,
  },
  {
    group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true, shortNames: ['svc'], categories: ['all'],
    fields: ['spec', 'status'], statusSubresource: true, columns: serviceColumns,
  },
  {
    group: '', version: 'v1', kind: 'Endpoints', plural: 'endpoints', namespaced: true, shortNames: ['ep'], fields: ['subsets'],
    columns: [nameColumn, col('Endpoints', 'string', (o) => none((o.subsets ?? []).flatMap((s: Obj) => (s.addresses ?? []).flatMap((a: Obj) => (s.ports ?? [{}]).map((p: Obj) => (p.port ? `${a.ip}:${p.port}` : a.ip)))).join(','))), ageColumn],
  },
  {
    group: '', version: 'v1', kind: 'ReplicationController', plural: 'replicationcontrollers', namespaced: true, shortNames: ['rc'], categories: ['all'],
    fields: ['spec', 'status'], statusSubresource: true, generation: 'cr', columns: [...setColumns('counts'), ageColumn],
  },
  {
    group: '', version: 'v1', kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', namespaced: true, shortNames: ['pvc'],
    fields: ['spec', 'status'], statusSubresource: true,
    columns: [nameColumn, col('Status', 'string', (o) => o.status?.phase ?? ''), col('Volume', 'string', (o) => o.spec?.volumeName ?? ''),
      col('Capacity', 'string', (o) => o.status?.capacity?.storage ?? ''), col('Access Modes', 'string', (o) => (o.status?.accessModes ?? []).join(',')),
      col('StorageClass', 'string', (o) => o.spec?.storageClassName ?? ''), ageColumn],
  },
  {
    group: '', version: 'v1', kind: 'PersistentVolume', plural: 'persistentvolumes', namespaced: false, shortNames: ['pv'],
    fields: ['spec', 'status'], statusSubresource: true,
    columns: [nameColumn, col('Capacity', 'string', (o) => o.spec?.capacity?.storage ?? ''), col('Access Modes', 'string', (o) => (o.spec?.accessModes ?? []).join(',')),
      col('Reclaim Policy', 'string', (o) => o.spec?.persistentVolumeReclaimPolicy ?? ''), col('Status', 'string', (o) => o.status?.phase ?? ''),
      col('Claim', 'string', (o) => (o.spec?.claimRef ? `${o.spec.claimRef.namespace}/${o.spec.claimRef.name}` : '')), ageColumn],
  },
  {
    group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true, shortNames: ['deploy'], categories: ['all'],
    fields: ['spec', 'status'], statusSubresource: true, generation: 'cr',
    columns: [...setColumns('ratio'), col('Up-to-date', 'integer', (o) => num(o.status?.updatedReplicas)), col('Available', 'integer', (o) => num(o.status?.availableReplicas)), ageColumn, ...podTemplateWide],
  },
  {
    group: 'apps', version: 'v1', kind: 'ReplicaSet', plural: 'replicasets', namespaced: true, shortNames: ['rs'], categories: ['all'],
    fields: ['spec', 'status'], statusSubresource: true, generation: 'cr', columns: [...setColumns('counts'), ageColumn, ...podTemplateWide],
  },
  {
    group: 'apps', version: 'v1', kind: 'StatefulSet', plural: 'statefulsets', namespaced: true, shortNames: ['sts'], categories: ['all'],
    fields: ['spec', 'status'], statusSubresource: true, generation: 'cr', columns: [...setColumns('ratio'), ageColumn, wide('Containers', containers), wide('Images', images)],
  },
  {
    group: 'apps', version: 'v1', kind: 'DaemonSet', plural: 'daemonsets', namespaced: true, shortNames: ['ds'], categories: ['all'],
    fields: ['spec', 'status'], statusSubresource: true, generation: 'cr',
    columns: [nameColumn, col('Desired', 'integer', (o) => num(o.status?.desiredNumberScheduled)), col('Current', 'integer', (o) => num(o.status?.currentNumberScheduled)),
      col('Ready', 'integer', (o) => num(o.status?.numberReady)), col('Up-to-date', 'integer', (o) => num(o.status?.updatedNumberScheduled)),
      col('Available', 'integer', (o) => num(o.status?.numberAvailable)), col('Node Selector', 'string', (o) => selector(o.spec?.template?.spec?.nodeSelector)), ageColumn],
  },
  {
    group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true, categories: ['all'], fields: ['spec', 'status'], statusSubresource: true, generation: 'cr',
    columns: [nameColumn, col('Completions', 'string', (o) => `${num(o.status?.succeeded)}/${num(o.spec?.completions ?? 1)}`), ageColumn, wide('Containers', containers), wide('Images', images)],
  },
  {
    group: 'batch', version: 'v1', kind: 'CronJob', plural: 'cronjobs', namespaced: true, shortNames: ['cj'], categories: ['all'], fields: ['spec', 'status'], statusSubresource: true, generation: 'cr',
    columns: [nameColumn, col('Schedule', 'string', (o) => o.spec?.schedule ?? ''), col('Timezone', 'string', (o) => none(o.spec?.timeZone)),
      col('Suspend', 'boolean', (o) => o.spec?.suspend === true ? 'True' : 'False'), col('Active', 'integer', (o) => String((o.status?.active ?? []).length)),
      col('Last Schedule', 'date', (o, now) => (o.status?.lastScheduleTime ? age(o.status.lastScheduleTime, now) : '<none>')), ageColumn],
  },
  {
    group: 'autoscaling', version: 'v2', kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers', namespaced: true, shortNames: ['hpa'], categories: ['all'],
    fields: ['spec', 'status'], statusSubresource: true, generation: 'cr',
    columns: [nameColumn, col('Reference', 'string', (o) => `${o.spec?.scaleTargetRef?.kind ?? ''}/${o.spec?.scaleTargetRef?.name ?? ''}`),
      col('MinPods', 'string', (o) => num(o.spec?.minReplicas ?? 1)), col('MaxPods', 'integer', (o) => num(o.spec?.maxReplicas)),
      col('Replicas', 'integer', (o) => num(o.status?.currentReplicas)), ageColumn],
  },
  {
    group: 'networking.k8s.io', version: 'v1', kind: 'Ingress', plural: 'ingresses', namespaced: true, shortNames: ['ing'], fields: ['spec', 'status'], statusSubresource: true, generation: 'cr',
    columns: [nameColumn, col('Class', 'string', (o) => none(o.spec?.ingressClassName)), col('Hosts', 'string', (o) => (o.spec?.rules ?? []).map((r: Obj) => r.host ?? '*').join(',') || '*'),
      col('Address', 'string', (o) => (o.status?.loadBalancer?.ingress ?? []).map((i: Obj) => i.ip ?? i.hostname).join(',')), col('Ports', 'string', (o) => (o.spec?.tls?.length ? '80, 443' : '80')), ageColumn],
  },
];
