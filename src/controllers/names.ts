// Names the operator, the agents and the manifests agree on.
import { PROVIDER_NAMESPACE } from '../api';

export const SYSTEM_NAMESPACE = PROVIDER_NAMESPACE;
/** The agent of host H renews Lease `agent-H` in the system namespace (its heartbeat). */
export const agentLeaseName = (host: string) => `agent-${host}`;
export const hostOfAgentLease = (lease: string) => (lease.startsWith('agent-') ? lease.slice('agent-'.length) : undefined);
/** The operator's leader-election Lease. */
export const OPERATOR_LEASE = 'vmsafe-operator';
/** Finalizer that keeps a Tag while anything references it. */
export const TAG_FINALIZER = 'vmsafe.io/tag-in-use';
/** RoleBinding the Tenant controller keeps in each tenant namespace for spec.admins. */
export const TENANT_ADMINS_BINDING = 'vmsafe-tenant-admins';
/** ClusterRole the tenant admins are bound to (shipped in manifests/, created by `vmsafe dev`). */
export const TENANT_ADMIN_CLUSTERROLE = 'vmsafe-tenant-admin';
export const TENANT_LABEL = 'vmsafe.io/tenant';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'vmsafe-operator';
