// Limits of the platform that the API server enforces and its clients plan for.

/** etcd's request limit (kube-apiserver refuses larger objects): 1.5 MiB. */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;
