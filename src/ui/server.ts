// The dashboard's HTTP server: loopback only, behind a sign-in token (exchanged once for an HttpOnly
// session cookie, so the token leaves the address bar), serving the page, one JSON route per view and
// a Server-Sent Events stream of changed host cells. It reads only its own watched cache: it is not a
// proxy to the API server.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../util/log';
import { pageScript } from './bundle';
import { indexHtml } from './html';
import type { Push } from './page/types';
import { liveReach, type ReachFn } from './reach';
import { LiveTracer, TraceInputError } from './trace';
import { fleetView, hostView, policiesView, problemsView, tenantsView, tenantView } from './views';
import type { FleetWatch } from './watch';

/** What the server reads: the watch's model and its change signal (an interface, so a benchmark can feed it directly). */
export type WatchSource = Pick<FleetWatch, 'model' | 'version' | 'onChange' | 'access' | 'canRead'>;

export interface UiServerOptions {
  watch: WatchSource;
  logger: Logger;
  port?: number;
  /** Sign-in token; random when absent. */
  token?: string;
  reach?: ReachFn;
  providerNamespace?: string;
  /** How long changes are coalesced before one push (ms). */
  pushIntervalMs?: number;
}

export interface UiServer {
  url: string;
  /** Opens the dashboard signed in. */
  loginUrl: string;
  port: number;
  close(): Promise<void>;
}

// Cookies are not kept apart by port: one name per port, so an admin's and a tenant admin's
// dashboards open in one browser do not sign each other out.
const cookieName = (port: number) => `vmsafe_ui_${port}`;
const PAGE_PATHS = /^\/(fleet|hosts\/[^/]+|tenants|tenants\/[^/]+|policies|problems|trace)\/?$/;

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    ...extra,
  });
  res.end(body);
}
const json = (res: ServerResponse, status: number, body: unknown) => send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));

export async function startUiServer(opts: UiServerOptions): Promise<UiServer> {
  const log = opts.logger.child({ component: 'ui' });
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const session = randomBytes(24).toString('base64url');
  const watch = opts.watch;
  const model = watch.model;
  const tracer = new LiveTracer(model, () => watch.version, opts.providerNamespace);
  // Bundle (or read) the page script now, not on the first request.
  const script = pageScript();
  script.catch((err: unknown) => log.error({ err }, 'cannot bundle the page script'));
  const clients = new Set<ServerResponse>();
  let port = 0;

  // Coalesce bursts of watch events into one push per interval.
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    const t = model.drain();
    const cells = [...t.hosts].map((h) => model.cells.get(h)).filter((c) => c !== undefined);
    const removed = [...t.hosts].filter((h) => !model.cells.has(h));
    const push: Push = { totals: model.totals(), cells, removed, kinds: [...t.kinds], access: watch.access() };
    const data = `event: push\ndata: ${JSON.stringify(push)}\n\n`;
    for (const c of clients) c.write(data);
  };
  const offChange = watch.onChange(() => {
    if (!timer) timer = setTimeout(flush, opts.pushIntervalMs ?? 100);
  });

  // What RBAC hides stays hidden: a view that needs an unreadable list answers 403 with a sentence
  // saying which (never a 500, never an answer computed from half the objects as if it were whole).
  const forbidden = (res: ServerResponse, what: string) => json(res, 403, { error: `${what}: ${watch.access().user || 'this kubeconfig'} may not list them (RBAC)` });
  // A verdict (trace) or a reachability (analyze) needs every policy that could decide it (the
  // provider's, the other tenant's) and where the VMs run: with any of that unreadable the answer
  // could be wrong, so there is none.
  const NEEDS = ['tenants', 'tags', 'hosts', 'vms', 'securitypolicies'];
  const incomplete = (): string | undefined => {
    const missing = NEEDS.filter((r) => !watch.canRead(r));
    const scope = watch.access().namespace;
    if (!missing.length && !scope) return undefined;
    const why = [missing.length ? `may not list ${missing.join(', ')}` : '', scope ? `sees namespace ${scope} only` : ''].filter(Boolean).join(' and ');
    return `needs every Tenant, Tag, Host, VM and SecurityPolicy, and ${watch.access().user || 'this kubeconfig'} ${why}`;
  };
  const reach = opts.reach ?? liveReach({ version: () => watch.version, incomplete: () => {
    const why = incomplete();
    return why && `Reachability ${why}`;
  }, providerNamespace: opts.providerNamespace });

  const routes: Array<[RegExp, (m: RegExpMatchArray, url: URL, res: ServerResponse) => void]> = [
    [/^\/api\/fleet$/, (_m, _u, res) => json(res, 200, { ...fleetView(model), access: watch.access() })],
    [/^\/api\/hosts\/([^/]+)$/, (m, _u, res) => {
      if (!watch.canRead('hosts')) return forbidden(res, 'Hosts are hidden');
      const v = hostView(model, decodeURIComponent(m[1]!));
      if (v) json(res, 200, v);
      else json(res, 404, { error: `no host ${decodeURIComponent(m[1]!)}` });
    }],
    [/^\/api\/tenants$/, (_m, u, res) => json(res, 200, tenantsView(model, (u.searchParams.get('q') ?? '').slice(0, 256), 200, !watch.canRead('tenants')))],
    [/^\/api\/tenants\/([^/]+)$/, (m, _u, res) => {
      const name = decodeURIComponent(m[1]!);
      const derived = !watch.canRead('tenants');
      const v = tenantView(model, name, reach(model, name), derived);
      if (v) json(res, 200, v);
      else json(res, 404, { error: derived ? `no tenant ${name} among the VMs this kubeconfig may read (Tenants are not readable)` : `no tenant ${name}` });
    }],
    [/^\/api\/policies$/, (_m, _u, res) => json(res, 200, policiesView(model))],
    [/^\/api\/problems$/, (_m, _u, res) => json(res, 200, problemsView(model))],
    [/^\/api\/access$/, (_m, _u, res) => json(res, 200, watch.access())],
    [/^\/api\/trace$/, (_m, u, res) => {
      const why = incomplete();
      if (why) return json(res, 403, { error: `Trace ${why}: ask your provider to trace, or use vmsafe trace on the manifests you have` });
      const q = Object.fromEntries(['from', 'to', 'protocol', 'port'].map((k) => [k, u.searchParams.get(k) ?? undefined]));
      try {
        json(res, 200, tracer.trace(q));
      } catch (err) {
        if (err instanceof TraceInputError) json(res, 400, { error: err.message });
        else throw err;
      }
    }],
  ];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    // Only loopback names: a page on another origin cannot reach us through DNS rebinding.
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return send(res, 421, 'text/plain', 'misdirected request\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'only GET\n', { Allow: 'GET, HEAD' });
    const url = new URL(req.url ?? '/', `http://${host}`);
    if (url.pathname === '/login') {
      const given = url.searchParams.get('token') ?? '';
      if (!sameSecret(given, token)) return send(res, 401, 'text/plain; charset=utf-8', 'wrong or missing token: open the Dashboard URL that vmsafe printed\n');
      const next = url.searchParams.get('next') ?? '/fleet';
      const target = next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/fleet';
      return send(res, 303, 'text/plain', '', { Location: target, 'Set-Cookie': `${cookieName(port)}=${session}; HttpOnly; SameSite=Strict; Path=/` });
    }
    if (!sameSecret(cookie(req, cookieName(port)) ?? '', session)) {
      if (url.pathname.startsWith('/api/')) return json(res, 401, { error: 'not signed in: open the Dashboard URL that vmsafe printed' });
      return send(res, 401, 'text/plain; charset=utf-8', 'not signed in: open the Dashboard URL that vmsafe printed (it carries a sign-in token)\n');
    }
    if (url.pathname === '/') return send(res, 303, 'text/plain', '', { Location: '/fleet' });
    if (url.pathname === '/app.js') {
      return send(res, 200, 'text/javascript; charset=utf-8', await script, { 'Cache-Control': 'private, max-age=3600' });
    }
    if (PAGE_PATHS.test(url.pathname)) return send(res, 200, 'text/html; charset=utf-8', indexHtml());
    if (url.pathname === '/api/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      res.write(`retry: 1000\n\n`);
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    for (const [re, fn] of routes) {
      const m = url.pathname.match(re);
      if (m) return fn(m, url, res);
    }
    return send(res, 404, 'text/plain', 'not found\n');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error (see the vmsafe ui log)' });
      else res.end();
    });
  });
  // Keep-alive SSE streams must not hold close() forever.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    loginUrl: `${url}/login?token=${token}`,
    async close() {
      offChange();
      if (timer) clearTimeout(timer);
      for (const c of clients) c.end();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
