// KubeClient against the real embedded API server: CRUD, patches, status subresource, error mapping.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/runtime/errors';
import { ACCEPT_METADATA_ONLY, KubeClient, type KubeObject } from '../../src/runtime/client';
import { KubeConfig } from '@kubernetes/client-node';
import { ensureNamespace, host, startEnv, vm, type TestEnv } from './fixtures';

let env: TestEnv;
beforeAll(async () => {
  env = await startEnv();
  await ensureNamespace(env.client, 'acme');
});
afterAll(() => env?.close());

/** A kubeconfig for a plain-HTTP test server on 127.0.0.1:`port`. */
const plainKubeconfig = (port: number) => `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`;

describe('KubeClient', () => {
  it('creates, reads, lists, patches and deletes our kinds; errors are typed', async () => {
    const hosts = env.client.kind<KubeObject & { spec: { tags: string[] } }>('Host');
    const created = await hosts.create(host('c-h1', ['gold']) as any);
    expect(created.metadata.uid).toBeTruthy();
    expect((await hosts.get('c-h1')).spec.tags).toEqual(['gold']);

    const dup = await hosts.create(host('c-h1') as any).catch((e) => e);
    expect(dup).toBeInstanceOf(ApiError);
    expect(dup).toMatchObject({ code: 409, reason: 'AlreadyExists' });

    const missing = await hosts.get('nope').catch((e) => e);
    expect(missing).toMatchObject({ code: 404, reason: 'NotFound' });
    expect(await hosts.tryGet('nope')).toBeUndefined();

    const merged = await hosts.patch('c-h1', { spec: { tags: ['gold', 'pci'] } }, 'merge');
    expect(merged.spec.tags).toEqual(['gold', 'pci']);
    const jp = await hosts.patch('c-h1', [{ op: 'test', path: '/spec/tags/0', value: 'gold' }, { op: 'remove', path: '/spec/tags/0' }], 'json');
    expect(jp.spec.tags).toEqual(['pci']);
    const failedTest = await hosts.patch('c-h1', [{ op: 'test', path: '/spec/tags/0', value: 'gold' }], 'json').catch((e) => e);
    expect(failedTest).toBeInstanceOf(ApiError);
    expect([409, 422]).toContain(failedTest.code);

    // Optimistic concurrency: replace with a stale resourceVersion → 409 Conflict.
    const stale = { ...created, spec: { ...created.spec, tags: ['x'] } };
    expect(await hosts.replace(stale).catch((e) => e)).toMatchObject({ code: 409, reason: 'Conflict' });

    const withStatus = await hosts.patchStatus('c-h1', { status: { allocated: { vms: 1, vnics: 2 } } });
    expect(withStatus.status).toMatchObject({ allocated: { vms: 1, vnics: 2 } });
    const afterSpecPatch = await hosts.patch('c-h1', { status: { allocated: { vms: 9, vnics: 9 } } });
    expect(afterSpecPatch.status).toMatchObject({ allocated: { vms: 1, vnics: 2 } }); // main resource ignores status

    const list = await hosts.list({ fieldSelector: 'metadata.name=c-h1' });
    expect(list.items.map((h) => h.metadata.name)).toEqual(['c-h1']);
    expect(list.metadata.resourceVersion).toBeTruthy();

    await hosts.delete('c-h1');
    expect(await hosts.tryGet('c-h1')).toBeUndefined();
  });

  it('namespaced kinds need a namespace and accept "ns/name" keys', async () => {
    const vms = env.client.kind('VM');
    await vms.create(vm('acme', 'c-web') as any);
    expect((await vms.get('acme/c-web')).metadata.namespace).toBe('acme');
    expect(() => vms.get('c-web')).toThrow(/namespace/);
    expect((await vms.list({ namespace: 'acme' })).items).toHaveLength(1);
    expect((await vms.list()).items.length).toBeGreaterThanOrEqual(1);
    await vms.delete({ namespace: 'acme', name: 'c-web' });
  });

  it('generated client-node APIs share the connection pool', async () => {
    const { CoreV1Api } = await import('@kubernetes/client-node');
    const ns = await env.client.api(CoreV1Api).readNamespace({ name: 'acme' });
    expect(ns.metadata?.name).toBe('acme');
  });

  it('maps a network failure to code 0', async () => {
    const { KubeClient } = await import('../../src/runtime/client');
    const yaml = env.server.kubeconfig().replace(/server: \S+/, 'server: http://127.0.0.1:1');
    const c = new KubeClient({ yaml });
    const err = await c.kind('Host').list().catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe(0);
    c.close();
  });
});

describe('timeouts', () => {
  it('a server that never answers fails the call after requestTimeoutMs (plain http works too)', async () => {
    const net = await import('node:net');
    const { KubeClient } = await import('../../src/runtime/client');
    const sockets = new Set<import('node:net').Socket>();
    const silent = net.createServer((sock) => {
      sockets.add(sock);
      sock.on('data', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    const c = new KubeClient({ yaml: plainKubeconfig(port) }, { requestTimeoutMs: 200 });
    const t0 = Date.now();
    const err = await c.kind('Host').create(host('t-h1') as any).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    c.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  });
});

describe('responses a caller discards', () => {
  it('asks for metadata only; a call that reads the object asks for all of it', async () => {
    const http = await import('node:http');
    const accepts: Array<[string, string | undefined]> = [];
    const srv = http.createServer((req, res) => {
      accepts.push([req.method ?? '', req.headers.accept]);
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Host', apiVersion: 'vmsafe.io/v1alpha1', metadata: { name: 'd-h1' }, spec: { tags: [] } }));
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as import('node:net').AddressInfo).port;
    const c = new KubeClient({ yaml: plainKubeconfig(port) });
    const hosts = c.kind<KubeObject>('Host');
    expect(await hosts.patch('d-h1', { spec: { tags: ['a'] } }, 'merge', { discardResponse: true })).toBeUndefined();
    expect((await hosts.patch('d-h1', { spec: { tags: ['a'] } }, 'merge')).metadata.name).toBe('d-h1');
    c.close();
    await new Promise<void>((r) => srv.close(() => r()));
    expect(accepts).toEqual([
      ['PATCH', ACCEPT_METADATA_ONLY],
      ['PATCH', 'application/json'],
    ]);
    expect(ACCEPT_METADATA_ONLY).toMatch(/^application\/json;as=PartialObjectMetadata;g=meta\.k8s\.io;v=v1, application\/json$/);
  });
});

describe('keep-alive', () => {
  /** The client's undici pool (requests) and its https.Agent (watches), after one request made them. */
  const transport = async () => {
    await env.client.kind('Host').list();
    const auth = (env.client as any).auth;
    return { pool: auth.pool as import('undici').Agent, agent: auth.agent as import('node:https').Agent & { options: Record<string, unknown> } };
  };
  /** New connections the pool opens from now on. */
  const countConnects = (pool: import('undici').Agent) => {
    const seen = { n: 0 };
    pool.on('connect', () => seen.n++);
    return seen;
  };

  it('sequential requests reuse one connection, through the pool and not the agent', async () => {
    const hosts = env.client.kind('Host');
    const { pool, agent } = await transport();
    const connects = countConnects(pool);
    for (let i = 0; i < 20; i++) await hosts.list();
    expect(connects.n).toBe(0);
    // Requests never touched the agent: it keeps no socket (watches get their own agent).
    expect(Object.keys((agent as any).freeSockets)).toEqual([]);
    expect(Object.keys((agent as any).sockets)).toEqual([]);
  });

  it('a list read in place (an informer\'s page) goes through the agent, not the pool', async () => {
    const { MANAGED_FIELDS } = await import('../../src/runtime/strip-managed');
    const { pool, agent } = await transport();
    const connects = countConnects(pool);
    let freed = 0;
    agent.on('free', () => freed++); // a kept-alive socket of the agent's, back after its response
    await env.client.kind('Host').create(host('ka-list') as any);
    freed = 0;
    const page = await env.client.kind('Host').list({ dropItemMembers: MANAGED_FIELDS });
    await env.client.kind('Host').delete('ka-list');
    expect(page.items.map((h) => h.metadata.name)).toContain('ka-list');
    expect(page.items.every((h) => h.metadata.managedFields === undefined)).toBe(true);
    expect(connects.n).toBe(0);
    expect(freed).toBe(1);
  });

  it('a burst keeps its connections for the next burst, all on one TLS context', async () => {
    const hosts = env.client.kind('Host');
    const { pool, agent } = await transport();
    // Built once from the kubeconfig's CA and passed to every tls.connect (no context per socket).
    expect((agent.options.secureContext as object | undefined)?.constructor.name).toBe('SecureContext');
    const connects = countConnects(pool);
    await Promise.all(Array.from({ length: 24 }, () => hosts.list()));
    const first = connects.n;
    expect(first).toBeGreaterThan(1);
    await Promise.all(Array.from({ length: 24 }, () => hosts.list()));
    expect(connects.n).toBe(first);
  });

  it('pools the watch agent\'s sockets by address: the key of a request is host and port, not the CA, certificate and key', async () => {
    const { agent } = await transport();
    expect(agent.options.ca ?? agent.options.cert).toBeDefined(); // TLS with the kubeconfig's material
    expect(agent.getName({ ...agent.options, host: '127.0.0.1', port: env.server.port })).toBe(`127.0.0.1:${env.server.port}:`);
  });

  it('a response the server cuts short fails the call; the next request gets a fresh connection', async () => {
    const net = await import('node:net');
    let requests = 0;
    const srv = net.createServer((sock) => {
      sock.once('data', () => {
        requests++;
        // The first answer promises 100 bytes and sends 2, then closes; later ones are whole.
        if (requests === 1) sock.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{}');
        else sock.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}');
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as import('node:net').AddressInfo).port;
    const c = new KubeClient({ yaml: plainKubeconfig(port) });
    try {
      const err = await c.request('PATCH', '/api/v1/namespaces/x/configmaps/y', { body: {} }).catch((e) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err.code).toBe(0);
      expect(await c.request('PATCH', '/api/v1/namespaces/x/configmaps/y', { body: {} })).toEqual({});
    } finally {
      c.close();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});

describe('authentication headers', () => {
  it('are reused for authReuseMs (requests still authenticate), then the kubeconfig applies them again', async () => {
    let calls = 0;
    const kc = new KubeConfig();
    kc.loadFromString(env.server.kubeconfig());
    const apply = kc.applySecurityAuthentication.bind(kc);
    kc.applySecurityAuthentication = async (ctx) => {
      calls++;
      return apply(ctx);
    };
    // A fake clock: on a loaded machine 20 real round trips can outlast any real reuse window.
    const { FakeClock } = await import('../../src/runtime/clock');
    const clock = new FakeClock();
    const client = new KubeClient(kc, { authReuseMs: 300, clock });
    try {
      const hosts = client.kind('Host');
      for (let i = 0; i < 20; i++) await hosts.list();
      expect(calls).toBe(1); // every request authenticated, with the headers of the first
      await clock.advance(299);
      await hosts.list();
      expect(calls).toBe(1);
      await clock.advance(1);
      await hosts.list();
      expect(calls).toBe(2);
    } finally {
      client.close();
    }
  });
});

describe('KubeClient client-side rate limit (qps / burst)', () => {
  it('sends `burst` requests at once, then waits for tokens at `qps`', async () => {
    const { FakeClock } = await import('../../src/runtime/clock');
    const { KubeClient } = await import('../../src/runtime/client');
    const clock = new FakeClock();
    const limited = new KubeClient({ yaml: env.server.kubeconfig() }, { qps: 1, burst: 2, clock });
    try {
      const done: boolean[] = [false, false, false];
      const calls = [0, 1, 2].map((i) => limited.kind('Host').list().then(() => (done[i] = true)));
      await Promise.all(calls.slice(0, 2));
      // The third waits on the limiter's timer, not on the server.
      expect(done).toEqual([true, true, false]);
      expect(clock.pending()).toBe(1);
      await clock.advance(1000);
      await calls[2];
      expect(done[2]).toBe(true);
    } finally {
      limited.close();
    }
  });
});
