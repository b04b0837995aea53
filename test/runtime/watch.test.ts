// startWatch over real HTTP against a server that answers what we tell it to: a Status for a refused
// watch, a line that is not JSON, a stalled connect, and a fleet's worth of watches on one client.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/runtime/client';
import { ApiError } from '../../src/runtime/errors';
import { startWatch } from '../../src/runtime/watch';
import { until } from './fixtures';

let server: http.Server;
let client: KubeClient;
/** Responses held open, ended after each test. */
const open = new Set<http.ServerResponse>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const path = url.pathname;
    if (path === '/refused') {
      res.writeHead(403, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'hosts is forbidden: user "t" cannot watch', code: 403 }));
    }
    if (path === '/garbled') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a","managedFields":[{"x":1}]}}}\n');
      return res.write('{"type":"MODIFIED","object":{"meta\n');
    }
    if (path === '/stall') return; // never answers
    if (path === '/ok') return void res.end('{}');
    // '/hold': headers and one event, then held open
    open.add(res);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(`{"type":"ADDED","object":{"metadata":{"name":"${url.searchParams.get('watch')}"}}}\n`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  client = new KubeClient({
    yaml: `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
  });
});
afterAll(async () => {
  for (const r of open) r.destroy();
  client.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function watch(path: string) {
  const events: [string, any][] = [];
  const ends: unknown[] = [];
  const ac = startWatch(client, { path, query: {}, drops: { metadata: ['managedFields'] } }, (t, o) => events.push([t, o]), (err) => ends.push(err));
  return { ac, events, ends };
}

describe('startWatch', () => {
  it('ends a refused watch with the server\'s Status as an ApiError', async () => {
    const w = watch('/refused');
    await until(() => w.ends.length > 0);
    expect(w.ends[0]).toBeInstanceOf(ApiError);
    expect(w.ends[0]).toMatchObject({ code: 403, reason: 'Forbidden', message: 'hosts is forbidden: user "t" cannot watch' });
  });

  it('delivers the events before a line that is not JSON, then ends with an error instead of skipping it', async () => {
    const w = watch('/garbled');
    await until(() => w.ends.length > 0);
    expect(w.events).toEqual([['ADDED', { metadata: { name: 'a' } }]]);
    expect(w.ends).toHaveLength(1);
    expect(String((w.ends[0] as Error).message)).toContain('not JSON');
  });

  it('aborts while still connecting, and ends exactly once, cleanly', async () => {
    const w = watch('/stall');
    w.ac.abort();
    await until(() => w.ends.length > 0);
    expect(w.ends).toEqual([null]);
    w.ac.abort();
    expect(w.ends).toEqual([null]);
  });

  it('holds 200 watches on one client and still answers a request (watches never wait for the request pool)', async () => {
    const ws = Array.from({ length: 200 }, () => watch('/hold'));
    await until(() => ws.every((w) => w.events.length === 1), 10_000, 'every watch delivering');
    expect(await client.request('GET', '/ok')).toEqual({});
    for (const w of ws) w.ac.abort();
    await until(() => ws.every((w) => w.ends.length === 1));
    expect(ws.every((w) => w.ends[0] === null && w.events[0]![1].metadata.name === 'true')).toBe(true);
  });
});
