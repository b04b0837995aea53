"""The official Python client (Debian's python3-kubernetes) against `vmsafe apiserver`.

Run by test/e2e/python-client.test.ts as `/usr/bin/python3 -I client_e2e.py KUBECONFIG CACHE_DIR`.
It drives the client the way Python users do (CoreV1Api, CustomObjectsApi, DynamicClient, watch.Watch)
and prints one JSON object of what it observed; the vitest test asserts on it. An unexpected
exception exits non-zero with the traceback on stderr.
"""
import json
import os
import sys
import threading

from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException

NS = "py"
out = {}


def status_of(fn):
    """The HTTP status of a call that should fail (0 when it succeeds), and the Status message."""
    try:
        fn()
        return {"status": 0, "message": ""}
    except ApiException as e:
        body = json.loads(e.body) if e.body else {}
        return {"status": e.status, "message": body.get("message", ""), "reason": body.get("reason", "")}


def cm(name, data, labels=None):
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels), data=data)


def main():
    kubeconfig, cache_dir = sys.argv[1], sys.argv[2]
    api_client = config.new_client_from_config(config_file=kubeconfig)
    core = client.CoreV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)
    dyn = dynamic.DynamicClient(api_client, cache_file=os.path.join(cache_dir, "discovery.json"))

    out["version"] = client.VersionApi(api_client).get_code().git_version
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))

    # --- watch (watch=True on the wire), from the resourceVersion of a list, with bookmarks allowed.
    start_rv = core.list_namespaced_config_map(NS).metadata.resource_version
    events = []
    ready = threading.Event()

    def watcher():
        w = watch.Watch()
        ready.set()
        for ev in w.stream(core.list_namespaced_config_map, NS, resource_version=start_rv,
                           allow_watch_bookmarks=True, timeout_seconds=30):
            if ev["type"] == "BOOKMARK":
                continue
            o = ev["object"]
            events.append([ev["type"], o.metadata.name, (o.data or {}).get("k")])
            if ev["type"] == "DELETED" and o.metadata.name == "watched":
                w.stop()

    t = threading.Thread(target=watcher)
    t.start()
    ready.wait()
    core.create_namespaced_config_map(NS, cm("watched", {"k": "v1"}))
    core.patch_namespaced_config_map("watched", NS, {"data": {"k": "v2"}})
    core.delete_namespaced_config_map("watched", NS)
    t.join(40)
    out["watchEvents"] = events
    out["watchFinished"] = not t.is_alive()

    # --- paging: limit/continue until the server stops handing out tokens.
    for i in range(25):
        core.create_namespaced_config_map(NS, cm("page-%02d" % i, {"i": str(i)}, {"set": "paged"}))
    pages, names, token = [], [], None
    while True:
        lst = core.list_namespaced_config_map(NS, label_selector="set=paged", limit=10, _continue=token)
        pages.append({"items": len(lst.items), "remaining": lst.metadata.remaining_item_count})
        names += [o.metadata.name for o in lst.items]
        token = lst.metadata._continue
        if not token:
            break
    out["pages"] = pages
    # Without selectors kube-apiserver also says how many remain (with them it cannot know, and omits it).
    first = core.list_namespaced_config_map(NS, limit=10)
    out["unselectedFirstPage"] = {"items": len(first.items), "remaining": first.metadata.remaining_item_count,
                                  "total": len(core.list_namespaced_config_map(NS).items)}
    out["pagedNames"] = names
    out["badContinue"] = status_of(lambda: core.list_namespaced_config_map(NS, limit=5, _continue="garbage"))

    # --- patches as the client sends them.
    core.create_namespaced_config_map(NS, cm("patched", {"a": "1", "b": "2"}))
    # A dict body goes out as application/strategic-merge-patch+json (built-in kind).
    core.patch_namespaced_config_map("patched", NS, {"metadata": {"labels": {"via": "smp"}}, "data": {"b": None, "c": "3"}})
    # A list body goes out as application/json-patch+json.
    core.patch_namespaced_config_map("patched", NS, [
        {"op": "test", "path": "/data/a", "value": "1"},
        {"op": "replace", "path": "/data/a", "value": "one"},
    ])
    p = core.read_namespaced_config_map("patched", NS)
    out["patchedConfigMap"] = {"data": p.data, "labels": p.metadata.labels}
    out["failedTest"] = status_of(lambda: core.patch_namespaced_config_map(
        "patched", NS, [{"op": "test", "path": "/data/a", "value": "1"}, {"op": "remove", "path": "/data/a"}]))
    # CustomObjectsApi sends application/merge-patch+json.
    custom.create_cluster_custom_object("vmsafe.io", "v1alpha1", "tags", {
        "apiVersion": "vmsafe.io/v1alpha1", "kind": "Tag", "metadata": {"name": "py-tag"},
        "spec": {"description": "from python", "enforcement": "Preferred"}})
    custom.patch_cluster_custom_object("vmsafe.io", "v1alpha1", "tags", "py-tag",
                                       {"metadata": {"labels": {"via": "merge"}}, "spec": {"description": None}})
    tag = custom.get_cluster_custom_object("vmsafe.io", "v1alpha1", "tags", "py-tag")
    out["mergedTag"] = {"labels": tag["metadata"].get("labels"), "spec": tag["spec"]}
    # The dynamic client's default patch is strategic: a custom resource refuses it, as kube-apiserver does.
    tags = dyn.resources.get(api_version="vmsafe.io/v1alpha1", kind="Tag")
    out["strategicOnCustom"] = status_of(lambda: tags.patch(name="py-tag", body={"spec": {"enforcement": "Required"}}))

    # --- server-side apply (application/apply-patch+yaml) with field managers, conflicts and force=True.
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")

    def apply_cm(manager, value, force=None):
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied", "namespace": NS}, "data": {"owner": value}}
        return cms.server_side_apply(body=json.dumps(body), name="applied", namespace=NS, field_manager=manager, force_conflicts=force)

    apply_cm("py-one", "one")
    out["applyConflict"] = status_of(lambda: apply_cm("py-two", "two"))
    forced = apply_cm("py-two", "two", force=True)
    forced = forced.to_dict()
    out["applyForced"] = {
        "data": forced.get("data"),
        "managers": sorted("%s/%s" % (m["manager"], m["operation"]) for m in forced["metadata"]["managedFields"]),
    }
    tag_apply = {"apiVersion": "vmsafe.io/v1alpha1", "kind": "Tag", "metadata": {"name": "py-tag"}, "spec": {"enforcement": "Required"}}
    out["applyTagConflict"] = status_of(lambda: tags.server_side_apply(body=json.dumps(tag_apply), name="py-tag", field_manager="py-apply"))
    applied_tag = tags.server_side_apply(body=json.dumps(tag_apply), name="py-tag", field_manager="py-apply", force_conflicts=True)
    out["applyTagForced"] = applied_tag.spec.enforcement

    # --- delete with the Python booleans on the wire (orphanDependents=True would be refused as 'true' only).
    core.delete_namespaced_config_map("applied", NS, orphan_dependents=False)
    out["afterDelete"] = status_of(lambda: core.read_namespaced_config_map("applied", NS))

    print(json.dumps(out))


if __name__ == "__main__":
    main()
