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
