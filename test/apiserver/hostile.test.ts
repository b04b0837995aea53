// Hostile input gets kube-apiserver's 4xx, never a 500 or a hang, and a rejected request changes
// nothing (issue 13's "Why" list, one case each, with the status now returned; then a fuzz).
import { connect } from 'node:tls';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer } from '../../src/apiserver/index';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver';
import { protoGuard } from '../helpers/proto-guard';
import { waitFor } from '../helpers/wait';

let s: TestApiServer;
const CM = '/api/v1/namespaces/default/configmaps';

beforeAll(async () => {
  s = await startTestApiServer({ crds: false, requestTimeoutMs: 400 });
  expect((await s.request('POST', CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'keep' }, data: { a: 'b' } } })).status).toBe(201);
});
afterAll(() => s.close());

const cm = (name: string, extra: object = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, ...extra });

describe('hostile input: the status kube-apiserver gives', () => {
  it('JSON nested 5,000+ deep: 400, not a stack overflow', async () => {
    const deep = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"x":${'['.repeat(6000)}${']'.repeat(6000)}}`;
    const r = await s.request('POST', CM, { raw: deep, headers: { 'Content-Type': 'application/json' } });
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/exceeded max depth/);
    const patch = await s.request('PATCH', `${CM}/keep`, { raw: `{"data":${'{"a":'.repeat(6000)}1${'}'.repeat(6000)}}`, headers: { 'Content-Type': 'application/merge-patch+json' } });
    expect(patch.status).toBe(400);
  });

  it('%ZZ in a path: 400', async () => {
    expect((await s.request('GET', `${CM}/%ZZ`)).status).toBe(400);
  });

  it('protobuf garbage: 400', async () => {
    const r = await s.request('POST', CM, { raw: Buffer.from([0x6b, 0x38, 0x73, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x07]), headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf' } });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
  });

  it('a merge patch with __proto__ keys neither deletes the object nor sets a hidden deletionTimestamp', async () => {
    const headers = { 'Content-Type': 'application/merge-patch+json' };
    for (const raw of [
      '{"__proto__":{"metadata":{"deletionTimestamp":"2020-01-01T00:00:00Z"}}}',
      '{"metadata":{"__proto__":{"deletionTimestamp":"2020-01-01T00:00:00Z","finalizers":["x"]}}}',
      '{"data":{"__proto__":"v","constructor":"c"}}',
    ]) {
      const r = await s.request('PATCH', `${CM}/keep`, { raw, headers });
      expect(r.status).toBe(200);
      const got = await s.request('GET', `${CM}/keep`);
      expect(got.status).toBe(200);
      expect(got.body.metadata.deletionTimestamp).toBeUndefined();
      expect(got.body.metadata.finalizers).toBeUndefined();
    }
    // Plain data: the keys are stored as keys.
    expect((await s.request('GET', `${CM}/keep`)).body.data).toEqual(JSON.parse('{"a":"b","__proto__":"v","constructor":"c"}'));
  });

  it('a CRD pattern like ^(a+)+$ runs in linear time: a 31-character value gets 422 at once', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'redos.example.com' },
      spec: {
        group: 'example.com', scope: 'Namespaced', names: { plural: 'redos', singular: 'redo', kind: 'Redo', listKind: 'RedoList' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { v: { type: 'string', pattern: '^(a+)+$' } } } } } } }],
      },
    };
    expect((await s.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd })).status).toBe(201);
    const path = '/apis/example.com/v1/namespaces/default/redos';
    const started = performance.now();
    const r = await s.request('POST', path, { body: { apiVersion: 'example.com/v1', kind: 'Redo', metadata: { name: 'r' }, spec: { v: `${'a'.repeat(31)}!` } } });
    expect(r.status).toBe(422);
    // A backtracking engine needs tens of seconds here; the whole request stays well under that.
    expect(performance.now() - started).toBeLessThan(5_000);
    expect((await s.request('POST', path, { body: { apiVersion: 'example.com/v1', kind: 'Redo', metadata: { name: 'ok' }, spec: { v: 'aaaa' } } })).status).toBe(201);
  });

  it('a request body that never finishes: 408 once the request timeout passes', async () => {
    const url = new URL(s.url);
    const status = await new Promise<string>((resolve, reject) => {
      const sock = connect({ host: url.hostname, port: Number(url.port), ca: s.server.caCert }, () => {
        sock.write(`POST ${CM} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"apiVersion"`);
      });
      let text = '';
      sock.on('data', (d: Buffer) => (text += d.toString()));
      sock.on('close', () => resolve(text.split('\r\n')[0] ?? ''));
      sock.on('error', reject);
    });
    expect(status).toBe('HTTP/1.1 408 Request Timeout');
  });

  it.each([
    ['limit=1.5', `${CM}?limit=1.5`],
    ['list resourceVersion=abc', `${CM}?resourceVersion=abc`],
    ['resourceVersionMatch=Bogus', `${CM}?resourceVersion=1&resourceVersionMatch=Bogus`],
    ['resourceVersionMatch without resourceVersion', `${CM}?resourceVersionMatch=NotOlderThan`],
    ['negative watch timeoutSeconds', `${CM}?watch=true&timeoutSeconds=-1`],
    ['watch=maybe', `${CM}?watch=maybe`],
  ])('%s: 400', async (_what, path) => {
    const r = await s.request('GET', path);
    expect(r.status).toBe(400);
    expect(r.body.kind).toBe('Status');
  });

  it('fieldValidation=Bogus on a write: 400', async () => {
    expect((await s.request('POST', `${CM}?fieldValidation=Bogus`, { body: cm('fv') })).status).toBe(400);
    expect((await s.request('GET', `${CM}/fv`)).status).toBe(404);
  });

  it('duplicate JSON keys under fieldValidation=Strict: 400; under Warn: stored with a warning', async () => {
    const raw = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup","name":"dup2"}}';
    const strict = await s.request('POST', `${CM}?fieldValidation=Strict`, { raw, headers: { 'Content-Type': 'application/json' } });
    expect(strict.status).toBe(400);
    expect(strict.body.message).toMatch(/duplicate field "metadata.name"/);
    const warn = await s.request('POST', CM, { raw, headers: { 'Content-Type': 'application/json' } });
    expect(warn.status).toBe(201);
    expect(String(warn.headers.warning)).toMatch(/duplicate field/);
  });

  it('ownerReferences of the wrong type and non-string ConfigMap data: 400, nothing stored', async () => {
    const bad = [
      cm('o1', { metadata: { name: 'o1', ownerReferences: 'nope' } }),
      cm('o2', { metadata: { name: 'o2', ownerReferences: ['nope'] } }),
      cm('d1', { data: { n: 1 } }),
      cm('d2', { data: ['x'] }),
    ];
    for (const body of bad) {
      const r = await s.request('POST', CM, { body });
      expect(r.status).toBe(400);
      expect(r.body.message).toMatch(/cannot unmarshal/);
      expect((await s.request('GET', `${CM}/${body.metadata.name}`)).status).toBe(404);
    }
  });
});

describe('query booleans parsed as Go strconv.ParseBool', () => {
  it('watch=True streams events (the official Python client), watch=False lists', async () => {
    const w = await s.request('GET', `${CM}?watch=True&timeoutSeconds=1`);
    expect(w.status).toBe(200);
    expect(w.text.split('\n').filter(Boolean).map((l) => JSON.parse(l).type)).toContain('ADDED');
    for (const v of ['t', 'T', 'TRUE', '1']) expect((await s.request('GET', `${CM}?watch=${v}&timeoutSeconds=1`)).text).toMatch(/^\{"type":"ADDED"/);
    for (const v of ['False', 'f', '0']) expect((await s.request('GET', `${CM}?watch=${v}`)).body.kind).toBe('ConfigMapList');
  });

  it("a client's string that reads like a stand-in resourceVersion is served as sent, beside the real resourceVersion", async () => {
    // The server once serialized an object with "\u0000rv" as its resourceVersion and replaced the
    // first such text: a value earlier in the object took the version, and every reader (a watching
    // controller too) got "\u0000rv" as the object's resourceVersion.
    const sneaky = '\u0000rv';
    const raw = `{"apiVersion":"v1","kind":"ConfigMap","data":{"a":${JSON.stringify(sneaky)}},"metadata":{"name":"sneaky","annotations":{"x":${JSON.stringify(sneaky)}}}}`;
    const created = await s.request('POST', CM, { raw, headers: { 'Content-Type': 'application/json' } });
    expect(created.status).toBe(201);
    const patched = await s.request('PATCH', `${CM}/sneaky`, { raw: `{"data":{"b":${JSON.stringify(sneaky)}}}`, headers: { 'Content-Type': 'application/merge-patch+json' } });
    expect(patched.status).toBe(200);
    for (const body of [created.body, patched.body, (await s.request('GET', `${CM}/sneaky`)).body]) {
      expect(body.metadata.resourceVersion).toMatch(/^[0-9]+$/);
      expect(body.metadata.annotations.x).toBe(sneaky);
      expect(body.data.a).toBe(sneaky);
    }
    const events = (await s.request('GET', `${CM}?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3Dsneaky`)).text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) {
      expect(e.object.metadata.resourceVersion).toMatch(/^[0-9]+$/);
      expect(e.object.data).toEqual({ a: sneaky, b: sneaky });
    }
  });

  it('force=True takes over a field another manager owns (server-side apply)', async () => {
    const apply = (manager: string, force: string) =>
      s.request('PATCH', `${CM}/ssa?fieldManager=${manager}${force}`, { raw: JSON.stringify(cm('ssa', { data: { k: manager } })), headers: { 'Content-Type': 'application/apply-patch+yaml' } });
    expect((await apply('one', '')).status).toBe(201);
    expect((await apply('two', '')).status).toBe(409);
    const forced = await apply('two', '&force=True');
    expect(forced.status).toBe(200);
    expect(forced.body.data.k).toBe('two');
  });
});

describe('Python-style booleans for the other parameters (issue 13: they counted only as true/1)', () => {
  const watchLines = async (query: string) => {
    const r = await s.request('GET', `${CM}?watch=True&timeoutSeconds=1&${query}`);
    expect(r.status).toBe(200);
    return r.text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  };

  it('allowWatchBookmarks=True: 200 with bookmarks; sendInitialEvents=True: initial ADDED then the initial-events-end bookmark', async () => {
    const events = await watchLines('allowWatchBookmarks=True&sendInitialEvents=True&resourceVersionMatch=NotOlderThan');
    const end = events.findIndex((e) => e.type === 'BOOKMARK' && e.object.metadata.annotations?.['k8s.io/initial-events-end'] === 'true');
    expect(end).toBeGreaterThan(0);
    expect(events.slice(0, end).every((e) => e.type === 'ADDED')).toBe(true);
    expect(events.slice(0, end).map((e) => e.object.metadata.name)).toContain('keep');
  });

  it.each([
    ['sendInitialEvents=True without resourceVersionMatch', 'sendInitialEvents=True&allowWatchBookmarks=True'],
    ['resourceVersionMatch=NotOlderThan on a watch without sendInitialEvents', 'resourceVersionMatch=NotOlderThan&allowWatchBookmarks=True'],
    ['sendInitialEvents without allowWatchBookmarks', 'sendInitialEvents=True&resourceVersionMatch=NotOlderThan'],
    ['allowWatchBookmarks=maybe', 'allowWatchBookmarks=maybe'],
  ])('%s: 400 (kube validateWatchOptions)', async (_what, query) => {
    const r = await s.request('GET', `${CM}?watch=True&timeoutSeconds=1&${query}`);
    expect(r.status).toBe(400);
    expect(r.body.kind).toBe('Status');
  });

  it('orphanDependents=True orphans the dependents; orphanDependents=nope is 400 and deletes nothing', async () => {
    const owner = (await s.request('POST', CM, { body: cm('py-owner') })).body;
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'py-owner', uid: owner.metadata.uid };
    expect((await s.request('POST', CM, { body: cm('py-dep', { metadata: { name: 'py-dep', ownerReferences: [ref] } }) })).status).toBe(201);
    expect((await s.request('DELETE', `${CM}/py-owner?orphanDependents=nope`)).status).toBe(400);
    expect((await s.request('GET', `${CM}/py-owner`)).status).toBe(200);
    expect((await s.request('DELETE', `${CM}/py-owner?orphanDependents=True`)).status).toBe(200);
    await waitFor('owner gone', async () => (await s.request('GET', `${CM}/py-owner`)).status === 404, { timeoutMs: 5000 });
    const dep = await waitFor('dependent orphaned', async () => {
      const d = (await s.request('GET', `${CM}/py-dep`)).body;
      return d?.metadata && !d.metadata.ownerReferences ? d : undefined;
    }, { timeoutMs: 5000 });
    expect(dep.metadata.name).toBe('py-dep');
  });
});

describe('a restart with the same data directory keeps every client working (issue 13: a new token made the operator 401)', () => {
  it('keeps the token and the serving certificate when no token is given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmsafe-token-'));
    try {
      const first = await startApiServer({ dataDir: dir });
      const { token, caCert } = first;
      await first.close();
      const second = await startApiServer({ dataDir: dir });
      try {
        expect(second.token).toBe(token);
        expect(second.caCert).toBe(caCert);
        // The first server's credentials and CA work against the second.
        const status = await new Promise<number>((resolve, reject) => {
          const req = httpsRequest(new URL('/api/v1/namespaces', second.url), { headers: { Authorization: `Bearer ${token}` }, ca: caCert }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        });
        expect(status).toBe(200);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('prototype names as input (a fuzz found /apis/__proto__/v1/x answering 500)', () => {
  const PROTO = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'];
  const ROUTES = [
    '/api/v1/namespaces/default/configmaps/keep/status',
    '/apis/authorization.k8s.io/v1/namespaces/default/localsubjectaccessreviews',
    '/apis/authentication.k8s.io/v1/tokenreviews',
    '/api/v1/namespaces/default/serviceaccounts/default/token',
    '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x',
    '/apis/coordination.k8s.io/v1/namespaces/default/leases/x',
    '/openapi/v3/apis/apps/v1',
    '/healthz/ping',
  ];
  it('in every path segment, under every verb: never 5xx', async () => {
    const failures: string[] = [];
    for (const route of ROUTES) {
      const segs = route.split('/').slice(1);
      for (let i = 0; i < segs.length; i++)
        for (const name of PROTO)
          for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
            const path = `/${segs.map((x, j) => (j === i ? name : x)).join('/')}`;
            const r = await s.request(method, path, method === 'GET' || method === 'DELETE' ? {} : { raw: '{}', headers: { 'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' } });
            if (r.status >= 500) failures.push(`${method} ${path} -> ${r.status} ${r.text.slice(0, 120)}`);
          }
    }
    expect(failures).toEqual([]);
  }, 60_000);

  it('as a kind, an apiVersion, a query parameter or a header: never 5xx', async () => {
    const failures: string[] = [];
    const check = (what: string, r: { status: number; text: string }) => r.status >= 500 && failures.push(`${what} -> ${r.status} ${r.text.slice(0, 120)}`);
    for (const name of PROTO) {
      check(`kind ${name}`, await s.request('POST', CM, { body: { apiVersion: 'v1', kind: name, metadata: { name: 'p' } } }));
      check(`apiVersion ${name}`, await s.request('POST', CM, { body: { apiVersion: `${name}/v1`, kind: 'ConfigMap', metadata: { name: 'p' } } }));
      check(`query ${name}`, await s.request('GET', `${CM}?${name}=1&labelSelector=${name}&fieldSelector=${name}%3Dx`));
      check(`header ${name}`, await s.request('GET', CM, { headers: { Accept: `application/${name}`, 'Impersonate-User': name } }));
      // A protobuf envelope whose kind is the name: its TypeMeta is field 1 (apiVersion 1, kind 2).
      const typeMeta = Buffer.concat([Buffer.from([0x0a, 2]), Buffer.from('v1'), Buffer.from([0x12, name.length]), Buffer.from(name)]);
      const raw = Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x0a, typeMeta.length]), typeMeta]);
      check(`protobuf kind ${name}`, await s.request('POST', CM, { raw, headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf' } }));
    }
    expect(failures).toEqual([]);
  });

  /**
   * Object.prototype's own members now. The function returned names what changed since, and undoes it
   * (so a regression fails its own test, not every later one).
   */
  const APPLY = { 'Content-Type': 'application/apply-patch+yaml' };
  const MERGE = { 'Content-Type': 'application/merge-patch+json' };

  it('server-side apply: a __proto__ key is data, and nothing reaches Object.prototype (SSA merged into it)', async () => {
    const undo = protoGuard();
    const statuses: number[] = [];
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa-proto\n__proto__:\n  pollutedYaml: "yes"\ndata:\n  __proto__: v\n  constructor: c\n';
    for (const raw of [
      // JSON is YAML too. An object under data is a 400, but the merge came first.
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ssa-proto"},"__proto__":{"pollutedJson":"yes"},"data":{"__proto__":{"pollutedData":"yes"}}}',
      yaml, // creates
      yaml, // merges into the stored object
    ])
      statuses.push((await s.request('PATCH', `${CM}/ssa-proto?fieldManager=m`, { raw, headers: APPLY })).status);
    expect(undo()).toEqual([]);
    expect(statuses).toEqual([400, 201, 200]);
    expect((await s.request('GET', `${CM}/ssa-proto`)).body.data).toEqual(JSON.parse('{"__proto__":"v","constructor":"c"}'));
  });

  /**
   * A ConfigMap whose managedFields a client wrote (an Update and an Apply entry of manager "m", their
   * fieldsV1 as raw JSON): the statuses of that PUT, of an update by "m" (which rebuilds its Update
   * entry's fieldsV1) and of an apply by "m" without the fields its Apply entry names (which removes them).
   */
  async function writeThroughManagedFields(name: string, updateFields: string, applyFields: string): Promise<number[]> {
    expect((await s.request('POST', CM, { body: cm(name, { data: { a: 'b' } }) })).status).toBe(201);
    const got = (await s.request('GET', `${CM}/${name}`)).body;
    const entry = (operation: string, fieldsV1: string) => `{"manager":"m","operation":"${operation}","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":${fieldsV1}}`;
    const put = JSON.stringify({ ...got, metadata: { ...got.metadata, managedFields: 'MF' } }).replace('"MF"', `[${entry('Update', updateFields)},${entry('Apply', applyFields)}]`);
    const apply = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ownerReferences: [] }, data: { a: 'd' } });
    return [
      (await s.request('PUT', `${CM}/${name}`, { raw: put, headers: { 'Content-Type': 'application/json' } })).status,
      (await s.request('PATCH', `${CM}/${name}?fieldManager=m`, { raw: '{"data":{"a":"c"}}', headers: MERGE })).status,
      (await s.request('PATCH', `${CM}/${name}?fieldManager=m&force=true`, { raw: apply, headers: APPLY })).status,
    ];
  }

  it('managedFields a client wrote with __proto__ field names: no 5xx, nothing reaches Object.prototype', async () => {
    const undo = protoGuard();
    // toFieldsV1 assigned into __proto__ on the update; deleteAt walked into it on the apply.
    const statuses = await writeThroughManagedFields('mf-proto', '{"__proto__":{"f:polluted":{}}}', '{"f:data":{"f:a":{}},"f:__proto__":{"f:__lookupSetter__":{}}}');
    expect(undo()).toEqual([]);
    expect(statuses).toEqual([200, 200, 200]);
    expect((await s.request('GET', `${CM}/mf-proto`)).body.data).toEqual({ a: 'd' });
  });

  it('managedFields a client wrote malformed (null members, k: segments that are not JSON objects): the next update and apply answer 200', async () => {
    const statuses = await writeThroughManagedFields('mf-bad', '{"f:data":null}', '{"f:data":{"f:a":{}},"f:metadata":{"f:ownerReferences":{"k:nope":{},"k:[1]":{"f:x":{}}}}}');
    expect(statuses).toEqual([200, 200, 200]);
    expect((await s.request('GET', `${CM}/mf-bad`)).body.data).toEqual({ a: 'd' });
  });

  it('Secret stringData, protobuf map keys and impersonated extras named __proto__ stay keys (they were dropped)', async () => {
    const secret = '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"proto-secret"},"stringData":{"__proto__":"v","constructor":"c"}}';
    expect((await s.request('POST', '/api/v1/namespaces/default/secrets', { raw: secret, headers: { 'Content-Type': 'application/json' } })).status).toBe(201);
    const b64 = (x: string) => Buffer.from(x).toString('base64');
    expect((await s.request('GET', '/api/v1/namespaces/default/secrets/proto-secret')).body.data).toEqual(JSON.parse(`{"__proto__":"${b64('v')}","constructor":"${b64('c')}"}`));

    // A ConfigMap as kubectl sends it in protobuf: metadata (1: name), data (2: map entries of key 1 and value 2).
    const field = (n: number, ...parts: (string | Buffer)[]) => {
      const body = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
      return Buffer.concat([Buffer.from([(n << 3) | 2, body.length]), body]);
    };
    const configMap = Buffer.concat([field(1, field(1, 'pb-proto')), field(2, field(1, '__proto__'), field(2, 'v')), field(2, field(1, 'constructor'), field(2, 'c'))]);
    const raw = Buffer.concat([Buffer.from('k8s\0', 'latin1'), field(1, field(1, 'v1'), field(2, 'ConfigMap')), field(2, configMap)]);
    expect((await s.request('POST', CM, { raw, headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf' } })).status).toBe(201);
    expect((await s.request('GET', `${CM}/pb-proto`)).body.data).toEqual(JSON.parse('{"__proto__":"v","constructor":"c"}'));

    const review = await s.request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      headers: { 'Impersonate-User': 'bob', 'Impersonate-Extra-__proto__': 'x', 'Impersonate-Extra-constructor': 'y' },
    });
    expect(review.status).toBe(201);
    expect(review.body.status.userInfo.extra).toEqual(JSON.parse('{"__proto__":["x"],"constructor":["y"]}'));
  });

  it('a status write keeps a top-level __proto__ field of a custom resource that preserves unknown fields (it was dropped)', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'loose.proto.example.com' },
      spec: {
        group: 'proto.example.com', scope: 'Namespaced', names: { plural: 'loose', singular: 'loose', kind: 'Loose', listKind: 'LooseList' },
        versions: [{
          name: 'v1', served: true, storage: true, subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { spec: { type: 'object' }, status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } },
        }],
      },
    };
    expect((await s.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd })).status).toBe(201);
    const path = '/apis/proto.example.com/v1/namespaces/default/loose';
    const raw = '{"apiVersion":"proto.example.com/v1","kind":"Loose","metadata":{"name":"l"},"spec":{},"__proto__":{"kept":true}}';
    expect((await s.request('POST', path, { raw, headers: { 'Content-Type': 'application/json' } })).status).toBe(201);
    expect((await s.request('PATCH', `${path}/l/status`, { raw: '{"status":{"phase":"Up"}}', headers: MERGE })).status).toBe(200);
    const got = await s.request('GET', `${path}/l`);
    expect(got.body.status).toEqual({ phase: 'Up' });
    expect(Object.hasOwn(got.body, '__proto__') && got.body['__proto__']).toEqual({ kept: true });
  });

  describe('a CRD whose schema names prototype members', () => {
    const PROTOS = '/apis/proto.example.com/v1/namespaces/default/protos';
    // JSON text: in an object literal, a `__proto__` key would set the prototype.
    const crd = `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"protos.proto.example.com"},"spec":{
      "group":"proto.example.com","scope":"Namespaced","names":{"plural":"protos","singular":"proto","kind":"Proto","listKind":"ProtoList"},
      "versions":[{"name":"v1","served":true,"storage":true,
        "selectableFields":[{"jsonPath":".spec.toString"}],
        "additionalPrinterColumns":[{"name":"P","type":"string","jsonPath":".spec.m.__proto__"}],
        "schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","required":["valueOf"],"properties":{
          "constructor":{"type":"string","default":"d"},
          "valueOf":{"type":"string"},
          "toString":{"type":"string"},
          "__proto__":{"type":"object","properties":{"polluted":{"type":"string","default":"yes"}}},
          "m":{"type":"object","additionalProperties":{"type":"string","x-kubernetes-validations":[{"rule":"self == oldSelf","message":"immutable"}]}},
          "x":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}}}}}]}}`;
    const create = (name: string, spec: string) =>
      s.request('POST', PROTOS, { raw: `{"apiVersion":"proto.example.com/v1","kind":"Proto","metadata":{"name":"${name}"},"spec":${spec}}`, headers: { 'Content-Type': 'application/json' } });

    beforeAll(async () => {
      expect((await s.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { raw: crd, headers: { 'Content-Type': 'application/json' } })).status).toBe(201);
    });

    it('defaults, types and required fields are about own fields, and defaults go nowhere else', async () => {
      const undo = protoGuard();
      const r = await create('a', '{"valueOf":"v","m":{"a":"x"},"x":{"__proto__":{}}}');
      expect(undo()).toEqual([]);
      // Was 422 (spec.constructor: must be string, Object's function), with Object.prototype.polluted set.
      expect(r.status).toBe(201);
      // spec.__proto__ is absent, so nothing under it is defaulted (Object.prototype was, as if it were spec's).
      expect(r.body.spec).toEqual(JSON.parse('{"constructor":"d","valueOf":"v","m":{"a":"x"},"x":{"__proto__":{}}}'));
      // `required: [valueOf]` was met by Object.prototype.valueOf.
      const missing = await create('b', '{}');
      expect(missing.status).toBe(422);
      expect(missing.body.details.causes).toContainEqual(expect.objectContaining({ field: 'spec.valueOf', reason: 'FieldValueRequired' }));
    });

    it('a transition rule does not run for a map key this write adds, whatever its name (was 422)', async () => {
      const r = await s.request('PATCH', `${PROTOS}/a`, { raw: '{"spec":{"m":{"constructor":"y","toString":"y","__proto__":"y"}}}', headers: MERGE });
      expect(r.status).toBe(200);
      expect(r.body.spec.m).toEqual(JSON.parse('{"a":"x","constructor":"y","toString":"y","__proto__":"y"}'));
      expect((await s.request('PATCH', `${PROTOS}/a`, { raw: '{"spec":{"m":{"constructor":"z"}}}', headers: MERGE })).status).toBe(422);
    });

    it('{"__proto__": {}} replaced by {"other": {}} is a change, not a no-op that drops the write', async () => {
      const r = await s.request('PATCH', `${PROTOS}/a`, { raw: '{"spec":{"x":{"__proto__":null,"other":{}}}}', headers: MERGE });
      expect(r.status).toBe(200);
      expect(r.body.spec.x).toEqual({ other: {} });
      expect(r.body.metadata.generation).toBe(3);
    });

    it('printer columns and field selectors read own fields only', async () => {
      expect((await create('c', '{"valueOf":"v","m":{"a":"x"}}')).status).toBe(201);
      expect((await create('d', '{"valueOf":"v","toString":"t"}')).status).toBe(201);
      const table = await s.request('GET', `${PROTOS}?fieldSelector=metadata.name%3Dc`, { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } });
      expect(table.body.kind).toBe('Table');
      // .spec.m.__proto__ of a map without that key: none (was "{}", Object.prototype).
      expect(table.body.rows[0].cells).toEqual(['c', null]);
      // spec.toString of an object without one is "" (was Object.prototype.toString's source).
      const names = async (sel: string) => (await s.request('GET', `${PROTOS}?fieldSelector=${sel}`)).body.items.map((o: { metadata: { name: string } }) => o.metadata.name);
      expect(await names('spec.toString%3D')).toEqual(['a', 'c']);
      expect(await names('spec.toString%3Dt')).toEqual(['d']);
    });
  });
});

describe('fuzz: paths, queries, headers, bodies', () => {
  it('never answers 5xx, and a rejected request changes nothing', async () => {
    const segment = fc.oneof(
      fc.constantFrom('api', 'apis', 'v1', 'namespaces', 'default', 'configmaps', 'keep', 'status', 'watch', '..', '%ZZ', '%00', '%2F', '__proto__', 'constructor'),
      fc.string({ minLength: 1, maxLength: 8 }).map(encodeURIComponent),
    );
    const query = fc.array(
      fc.tuple(
        fc.constantFrom('limit', 'watch', 'resourceVersion', 'resourceVersionMatch', 'timeoutSeconds', 'fieldValidation', 'force', 'dryRun', 'labelSelector', 'fieldSelector', 'continue', 'fieldManager', 'propagationPolicy', 'orphanDependents'),
        fc.oneof(fc.constantFrom('1', '-1', '1.5', 'True', 'abc', 'Strict', '', '0', 'All', '%ZZ'), fc.string({ maxLength: 6 }).map(encodeURIComponent)),
      ),
      { maxLength: 3 },
    );
    const contentType = fc.constantFrom('application/json', 'application/yaml', 'application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml', 'application/vnd.kubernetes.protobuf', 'text/plain');
    const body = fc.oneof(
      fc.json({ maxDepth: 4 }),
      fc.constantFrom('{"__proto__":{"x":1}}', '[{"op":"remove","path":"/metadata"}]', '{"metadata":{"name":"keep","resourceVersion":"x"}}', '{', '\u0000', `${'['.repeat(3000)}`),
      fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a).toString('latin1')),
    );
    const before = await s.request('GET', CM);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'), fc.array(segment, { maxLength: 7 }), query, contentType, body, async (method, segs, q, ct, b) => {
        // Writes go under /api/v1/namespaces/default/configmaps (the object "keep" must survive rejected ones).
        const path = `/${segs.join('/')}${q.length ? `?${q.map(([k, v]) => `${k}=${v}`).join('&')}` : ''}`;
        const r = await s.request(method, path, method === 'GET' || method === 'DELETE' ? {} : { raw: b, headers: { 'Content-Type': ct } });
        expect(r.status, `${method} ${path} -> ${r.status} ${r.text.slice(0, 200)}`).toBeLessThan(500);
      }),
      { numRuns: 150 },
    );
    // Random paths essentially never name a ConfigMap in "default" with a valid body: the set is unchanged.
    const after = await s.request('GET', CM);
    expect(after.body.items.map((i: any) => i.metadata.name)).toEqual(before.body.items.map((i: any) => i.metadata.name));
  }, 60_000);

  it('rejected writes to an existing object leave it byte-identical', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('PUT', 'PATCH'), fc.constantFrom('application/json', 'application/merge-patch+json', 'application/json-patch+json', 'application/vnd.kubernetes.protobuf'), fc.oneof(fc.json({ maxDepth: 3 }), fc.constantFrom('{', `{"data":${'['.repeat(2000)}`, '{"metadata":{"ownerReferences":"nope"}}', '{"data":{"n":1}}')), async (method, ct, raw) => {
        const before = (await s.request('GET', `${CM}/keep`)).text;
        const r = await s.request(method, `${CM}/keep?fieldValidation=Strict`, { raw, headers: { 'Content-Type': ct } });
        expect(r.status, `${method} ${ct} ${raw.slice(0, 80)} -> ${r.text.slice(0, 200)}`).toBeLessThan(500);
        if (r.status >= 400) expect((await s.request('GET', `${CM}/keep`)).text).toBe(before);
      }),
      { numRuns: 100 },
    );
  }, 60_000);
});
