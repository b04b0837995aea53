// The dashboard end to end: `vmsafe dev --demo`'s stack (embedded API server, operator, agents, the
// examples applied with the real kubectl), the dashboard server, and Debian's Chromium reading the page.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VM } from '../../src/api';
import { fromRanges, formatRanges, type PortRange } from '../../src/analyze/ports';
import { writeKubeconfig } from '../../src/apiserver/index';
import { applyManifests, REPO_ROOT, startDevStack, type DevStack } from '../../src/dev/stack';
import { startDashboard, type Dashboard } from '../../src/ui';
import { STATE_COLOR } from '../../src/ui/page/colors';
import { silentLogger } from '../../src/util/log';
import { launchChromium } from '../../bench/lib/browser';
import { kubectlFor } from '../helpers/kubectl';
import { waitFor } from '../helpers/wait';

let stack: DevStack;
let ui: Dashboard;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
let browser: Browser;
let page: Page;
let k: ReturnType<typeof kubectlFor>;
/** The stack's data dir and kubectl home; every file this test writes goes under it. */
const dir = mkdtempSync(join(tmpdir(), 'vmsafe-ui-'));

const items = async (kind: string) => (await k.json(['get', kind, '-A'])).items as any[];
const text = (sel: string) => page.$eval(sel, (e) => (e.textContent ?? '').trim());
const num = async (sel: string) => Number((await text(sel)).replace(/,/g, ''));

beforeAll(async () => {
  stack = await startDevStack({ logger: silentLogger, dataDir: dir, heartbeatMs: 400, leaseSeconds: 3 });
  k = kubectlFor(stack.kubeconfigPath, dir);
  await applyManifests(stack, [join(REPO_ROOT, 'examples')]);
  await waitFor('every powered-on VM Running', async () => {
    const vms = (await items('vms')) as VM[];
    return vms.length > 0 && vms.every((v) => v.status?.phase === (v.spec.powerState === 'Off' ? 'Off' : 'Running'));
  }, { timeoutMs: 180_000 });
  ui = await startDashboard({ kubeconfig: stack.kubeconfigPath, logger: silentLogger });
  chromium = await launchChromium();
  browser = chromium.browser;
  page = await browser.newPage();
  await page.goto(ui.loginUrl);
}, 240_000);

afterAll(async () => {
  await chromium?.close();
  await ui?.close();
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('dashboard server', () => {
  it('requires the sign-in token and answers only to loopback names', async () => {
    const anon = await fetch(`${ui.url}/api/fleet`);
    expect(anon.status).toBe(401);
    expect((await fetch(`${ui.url}/fleet`)).status).toBe(401);
    expect((await fetch(`${ui.url}/login?token=wrong`)).status).toBe(401);
    const ok = await fetch(ui.loginUrl, { redirect: 'manual' });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
    // DNS rebinding: a foreign Host header is refused even with a valid session.
    const cookie = ok.headers.get('set-cookie')!.split(';')[0]!;
    const rebound = await new Promise<number>((done) =>
      execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: evil.example:80', '-H', `Cookie: ${cookie}`, `${ui.url}/api/fleet`], (_e, out) => done(Number(out))),
    );
    expect(rebound).toBe(421);
    expect((await fetch(`${ui.url}/api/fleet`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${ui.url}/api/fleet`, { method: 'POST', headers: { cookie } })).status).toBe(405);
  });

  it('a bad trace query is a 400 naming the field, not a 500', async () => {
    const cookie = (await fetch(ui.loginUrl, { redirect: 'manual' })).headers.get('set-cookie')!.split(';')[0]!;
    const r = await fetch(`${ui.url}/api/trace?from=acme/web-1&to=globex/nope&protocol=TCP&port=80`, { headers: { cookie } });
    expect(r.status).toBe(400);
    expect(((await r.json()) as any).error).toMatch(/no VM globex\/nope/);
    const p = await fetch(`${ui.url}/api/trace?from=acme/web-1&to=acme/web-2&protocol=TCP&port=99999`, { headers: { cookie } });
    expect(p.status).toBe(400);
    expect(((await p.json()) as any).error).toMatch(/port/);
  });
});

describe('dashboard in Chromium', () => {
  it('Fleet totals equal what kubectl lists', async () => {
    await page.goto(`${ui.url}/fleet`);
    await page.waitForSelector('[data-total="hosts"]');
    // Compared at one moment: kubectl listed, then the page read, until both agree (VMs may move meanwhile).
    let last = '';
    await waitFor('page totals to match kubectl', async () => {
      const [hosts, vms, tenants, policies] = await Promise.all(['hosts', 'vms', 'tenants', 'securitypolicies'].map(items));
      const want = {
        hosts: hosts!.length,
        vms: vms!.length,
        vnics: vms!.reduce((n, v) => n + v.spec.vnics.length, 0),
        tenants: tenants!.length,
        policies: policies!.length,
        running: vms!.filter((v) => v.status?.phase === 'Running').length,
      };
      const running = await page.$eval('[data-phase="Running"]', (e) => e.textContent ?? '').catch(() => '');
      const got = {
        hosts: await num('[data-total="hosts"]'),
        vms: await num('[data-total="vms"]'),
        vnics: await num('[data-total="vnics"]'),
        tenants: await num('[data-total="tenants"]'),
        policies: await num('[data-total="policies"]'),
        running: Number(running.replace(/[^0-9]/g, '')),
      };
      last = `page ${JSON.stringify(got)}, kubectl ${JSON.stringify(want)}`;
      return JSON.stringify(got) === JSON.stringify(want);
    }, { timeoutMs: 30_000, describe: () => last });
  });

  it('a stopped agent turns its host cell NotReady and back, live, without a reload', async () => {
    await page.goto(`${ui.url}/fleet`);
    await page.waitForFunction(() => (globalThis as any).__vmsafe && (globalThis as any).__vmsafe.drawn > 0);
    await page.evaluate(() => ((globalThis as any).__sameDocument = true));
    const host = ((await items('hosts')) as any[])[0].metadata.name as string;
    const colorOf = () =>
      page.evaluate((h) => {
        const r = (globalThis as any).__vmsafe!.rect(h)!;
        const cv = (globalThis as any).document.querySelector(`canvas[data-pool="${r.pool}"]`) ;
        const d = cv.getContext('2d')!.getImageData((r.x + 3) * (globalThis as any).devicePixelRatio, (r.y + 3) * (globalThis as any).devicePixelRatio, 1, 1).data;
        return `#${[d[0], d[1], d[2]].map((v: number) => v.toString(16).padStart(2, '0')).join('')}`;
      }, host);
    await waitFor('cell healthy', async () => (await colorOf()) === STATE_COLOR.Healthy, { timeoutMs: 20_000, describe: colorOf });
    expect((await k.kubectl(['annotate', 'host', host, '--overwrite', 'sim.vmsafe.io/faults={"stopped":true}'])).code).toBe(0);
    await waitFor('cell NotReady', async () => (await colorOf()) === STATE_COLOR.NotReady, { timeoutMs: 20_000, describe: colorOf });
    expect(await page.$eval('[data-testid="unhealthy"]', (e) => e.textContent)).toContain(host);
    expect((await k.kubectl(['annotate', 'host', host, 'sim.vmsafe.io/faults-'])).code).toBe(0);
    await waitFor('cell healthy again', async () => (await colorOf()) === STATE_COLOR.Healthy, { timeoutMs: 20_000, describe: colorOf });
    expect(await page.evaluate(() => (globalThis as any).__sameDocument)).toBe(true);
  });

  it('keyboard: Tab to a pool, arrows choose a host, Enter opens its view with names as text', async () => {
    await page.goto(`${ui.url}/fleet`);
    await page.waitForSelector('canvas[data-pool]');
    await page.focus('canvas[data-pool]');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => (globalThis as any).location.pathname.startsWith('/hosts/'));
    const name = decodeURIComponent(new URL(page.url()).pathname.split('/')[2]!);
    await page.waitForSelector('[data-testid="host-state"]');
    expect(await text('h1')).toContain(name);
    const vmsOnHost = ((await items('vms')) as VM[]).filter((v) => v.status?.hostName === name).map((v) => `${v.metadata.namespace}/${v.metadata.name}`);
    const body = await text('main');
    for (const v of vmsOnHost) expect(body).toContain(v);
  });

  it('the trace form gives the CLI verdict', async () => {
    const probes: Array<[string, string, string, string]> = [
      ['acme/web-1', 'acme/app-1', 'TCP', '8080'],
      ['acme/web-1', 'globex-prod/api-1', 'TCP', '443'],
    ];
    const vms = ((await items('vms')) as VM[]).map((v) => `${v.metadata.namespace}/${v.metadata.name}`);
    for (const [from, to] of probes) expect(vms, `example VM ${from}/${to}`).toEqual(expect.arrayContaining([from, to]));
    // One CLI run for all probes (JSON lines in, JSON lines out, same order).
    const file = join(mkdtempSync(join(dir, 'probes-')), 'probes.jsonl');
    writeFileSync(file, probes.map(([from, to, protocol, port]) => JSON.stringify({ from, to, protocol, port: Number(port) })).join('\n') + '\n');
    const cli = await new Promise<string>((done, fail) =>
      execFile(join(REPO_ROOT, 'bin/vmsafe'), ['trace', '-f', join(REPO_ROOT, 'examples'), '--probes', file], (e, out, err) => (e ? fail(new Error(err)) : done(out))),
    );
    const answers = cli.trim().split('\n').map((l) => JSON.parse(l));
    for (const [i, [from, to, protocol, port]] of probes.entries()) {
      await page.goto(`${ui.url}/trace`);
      await page.waitForSelector('input[name=from]');
      await page.type('input[name=from]', from);
      await page.type('input[name=to]', to);
      await page.select('select[name=protocol]', protocol);
      await page.type('input[name=port]', port);
      await page.click('button[type=submit]');
      await page.waitForSelector('[data-testid="verdict"]');
      const want = answers[i];
      expect(await text('[data-testid="verdict"]')).toBe(want.verdict);
      const shown = await text('[data-testid="trace-text"]');
      for (const side of ['egress', 'ingress'] as const) {
        const d = want[side];
        expect(shown).toContain(d.policy ? `${d.tier} policy ${d.policy} rule ${d.rule}` : `${d.tier} (${d.rule})`);
      }
      expect(new URL(page.url()).searchParams.get('from')).toBe(from);
    }
  }, 120_000);

  it("a tenant's reachability panel says what vmsafe analyze says", async () => {
    const cli = await new Promise<string>((done, fail) =>
      execFile(join(REPO_ROOT, 'bin/vmsafe'), ['analyze', '-f', join(REPO_ROOT, 'examples'), '-o', 'json'], (e, out, err) => (e ? fail(new Error(err)) : done(out))),
    );
    const a = JSON.parse(cli) as { pairs: Array<{ from: string; to: string; ports: PortRange[] }>; outside: Array<{ tenant: string; ports: PortRange[] }> };
    expect(a.pairs.length).toBeGreaterThan(0);
    const fmtPorts = (p: PortRange[]) => formatRanges(fromRanges(p));
    for (const t of ['acme', 'globex', 'initech']) {
      await page.goto(`${ui.url}/tenants/${t}`);
      await page.waitForSelector('[data-testid="reach"]');
      const dd = await page.$$eval('[data-testid="reach"] dd', (es) => es.map((e) => (e.textContent ?? '').trim()));
      const list = (xs: Array<[string, PortRange[]]>) => (xs.length ? xs.map(([n, p]) => `${n} ${fmtPorts(p)}`).join('; ') : 'no other tenant');
      expect(dd[0], `${t} reaches`).toBe(list(a.pairs.filter((p) => p.from === t).map((p) => [p.to, p.ports])));
      expect(dd[1], `${t} reached by`).toBe(list(a.pairs.filter((p) => p.to === t).map((p) => [p.from, p.ports])));
      const out = a.outside.find((o) => o.tenant === t);
      expect(dd[2], `${t} from outside`).toBe(out ? fmtPorts(out.ports) : 'nothing');
    }
  }, 120_000);

  it('Problems, Policies and Tenants views are linkable paths with text', async () => {
    await page.goto(`${ui.url}/policies`);
    await page.waitForSelector('table');
    const policies = (await items('securitypolicies')) as any[];
    const body = await text('main');
    for (const p of policies) expect(body).toContain(`${p.metadata.namespace}/${p.metadata.name}`);
    await page.goto(`${ui.url}/tenants?q=acm`);
    await page.waitForSelector('#tenant-results');
    expect(await text('#tenant-results')).toContain('acme');
    expect(await text('#tenant-results')).not.toContain('globex');
    await page.goto(`${ui.url}/tenants/acme`);
    await page.waitForFunction(() => (globalThis as any).document.querySelector('main')!.textContent!.includes('acme/web-1'));
    await page.goto(`${ui.url}/problems`);
    await page.waitForFunction(() => /Problems \(\d+\)/.test((globalThis as any).document.querySelector('h1')?.textContent ?? ''));
  });
});

describe("a tenant admin's dashboard (RBAC enforced by the API server)", () => {
  let tenantUi: Dashboard;
  let tp: Page;
  let token: string;
  const asTenant = (args: string[]) => k.kubectl(['--token', token, ...args]);
  const names = async (args: string[]) => {
    const r = await asTenant([...args, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout).items as any[]).map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort();
  };

  beforeAll(async () => {
    // acme's admin as a ServiceAccount bound to the tenant-admin role in acme, with a kubeconfig of its
    // own: the same cluster, only its token (nothing of the admin's).
    for (const args of [
      ['create', 'serviceaccount', 'robot', '-n', 'acme'],
      ['create', 'rolebinding', 'robot-admin', '-n', 'acme', '--clusterrole', 'vmsafe-tenant-admin', '--serviceaccount', 'acme:robot'],
    ]) {
      const r = await k.kubectl(args);
      expect(r.code, r.stderr).toBe(0);
    }
    const t = await k.kubectl(['create', 'token', 'robot', '-n', 'acme', '--duration', '1h']);
    expect(t.code, t.stderr).toBe(0);
    token = t.stdout.trim();
    const kubeconfig = join(mkdtempSync(join(dir, 'tenant-')), 'kubeconfig');
    writeKubeconfig(kubeconfig, { url: stack.server.url, token, caCert: stack.server.caCert, namespace: 'acme' });
    expect(readFileSync(kubeconfig, 'utf8')).not.toContain(stack.server.token);
    tenantUi = await startDashboard({ kubeconfig, logger: silentLogger, namespace: 'acme' });
    // The same browser as the admin's dashboard: the two sign-ins must not clobber each other.
    tp = await browser.newPage();
    await tp.goto(tenantUi.loginUrl);
  }, 60_000);
  afterAll(async () => {
    await tp?.close();
    await tenantUi?.close();
  });

  it('lists exactly the VMs and policies the token may get, hosts and tenants hidden (not zero)', async () => {
    expect((await asTenant(['get', 'vms', '-A'])).stderr).toContain('cannot list resource "vms" in API group "vmsafe.io" at the cluster scope');
    const vms = await names(['get', 'vms', '-n', 'acme']);
    const policies = await names(['get', 'securitypolicies', '-n', 'acme']);
    expect(vms.length).toBeGreaterThan(0);
    await tp.goto(`${tenantUi.url}/fleet`);
    await tp.waitForSelector('[data-testid="access"]');
    const t = (sel: string) => tp.$eval(sel, (e) => (e.textContent ?? '').trim());
    expect(Number((await t('[data-total="vms"]')).replace(/,/g, ''))).toBe(vms.length);
    expect(Number((await t('[data-total="policies"]')).replace(/,/g, ''))).toBe(policies.length);
    expect(await t('[data-total="hosts"]')).toBe('—');
    expect(await t('[data-total="tenants"]')).toBe('—');
    expect(await tp.$('canvas[data-pool]')).toBeNull();
    expect(await t('[data-testid="hosts-hidden"]')).toContain('Hosts are hidden');
    const banner = await t('[data-testid="access"]');
    // The API server's word for who the dashboard is (SelfSubjectReview), not the kubeconfig's label.
    expect(banner).toContain('system:serviceaccount:acme:robot');
    expect(banner).toContain('namespace acme');
    for (const r of ['hosts', 'tenants', 'tags']) expect(banner).toContain(`${r} (403 Forbidden`);

    await tp.goto(`${tenantUi.url}/policies`);
    await tp.waitForSelector('table');
    const body = await t('main');
    for (const p of policies) expect(body).toContain(p);
    expect(body).not.toMatch(/globex|initech|vmsafe-system\//);

    await tp.goto(`${tenantUi.url}/tenants/acme`);
    await tp.waitForSelector('[data-testid="tenant-derived"]');
    const tenant = await t('main');
    expect(tenant).toContain('Reachability needs every Tenant, Tag, Host, VM and SecurityPolicy');
    for (const v of vms) expect(tenant).toContain(v);
    await tp.goto(`${tenantUi.url}/tenants`);
    await tp.waitForSelector('#tenant-results');
    expect(await t('#tenant-results')).toContain('acme');
    expect(await t('main')).not.toContain('globex');
    await tp.goto(`${tenantUi.url}/problems`);
    await tp.waitForFunction(() => /Problems \(\d+\)/.test((globalThis as any).document.querySelector('h1')?.textContent ?? ''));
    expect(await t('main')).not.toMatch(/globex|initech/);
  });

  it('what RBAC forbids degrades to a note on the page: 403 with a sentence, never a 500', async () => {
    const host = ((await items('hosts')) as any[])[0].metadata.name as string;
    const status = (path: string) => tp.evaluate(async (p) => {
      const r = await fetch(p);
      return { status: r.status, error: ((await r.json()) as any).error as string | undefined };
    }, path);
    expect(await status(`/api/hosts/${host}`)).toEqual({ status: 403, error: expect.stringContaining('Hosts are hidden') });
    const trace = await status('/api/trace?from=acme/web-1&to=acme/app-1&protocol=TCP&port=8080');
    expect(trace.status).toBe(403);
    expect(trace.error).toMatch(/^Trace needs every Tenant, Tag, Host, VM and SecurityPolicy, and system:serviceaccount:acme:robot may not list tenants, tags, hosts and sees namespace acme only/);
    for (const p of ['/api/fleet', '/api/tenants', '/api/tenants/acme', '/api/policies', '/api/problems', '/api/access']) expect((await status(p)).status, p).toBe(200);
    expect((await status('/api/tenants/globex')).status).toBe(404);

    await tp.goto(`${tenantUi.url}/hosts/${host}`);
    await tp.waitForSelector('[role="alert"]');
    expect(await tp.$eval('[role="alert"]', (e) => e.textContent)).toContain('Hosts are hidden: system:serviceaccount:acme:robot may not list them');
    await tp.goto(`${tenantUi.url}/trace?from=acme/web-1&to=acme/app-1&protocol=TCP&port=8080`);
    await tp.waitForSelector('[role="alert"]');
    expect(await tp.$eval('[role="alert"]', (e) => e.textContent)).toContain('Trace needs every Tenant');
    // The admin's dashboard in the same browser is still signed in, and sees more.
    await page.goto(`${ui.url}/fleet`);
    await page.waitForSelector('[data-total="tenants"]');
    expect(await num('[data-total="tenants"]')).toBeGreaterThan(1);
  });
});

describe('screen sizes, keyboard and contrast', () => {
  let ap: Page;
  let host: string;
  const VIEWS: Array<[string, string]> = [
    ['/fleet', 'canvas[data-pool]'],
    ['/tenants', '#tenant-results'],
    ['/tenants/acme', 'table'],
    ['/policies', 'table'],
    ['/problems', 'h1'],
    ['/trace?from=acme/web-1&to=acme/app-1&protocol=TCP&port=8080', '[data-testid="verdict"]'],
  ];
  const views = () => [...VIEWS, [`/hosts/${host}`, '[data-testid="host-state"]'] as [string, string]];
  beforeAll(async () => {
    host = ((await items('hosts')) as any[])[0].metadata.name as string;
    ap = await browser.newPage();
    await ap.goto(ui.loginUrl);
  });
  afterAll(async () => {
    await ap?.close();
  });

  it.each([
    [1280, 800],
    [2560, 1440],
  ])('at %ix%i every view fits the width, with the navigation, the heading and its main part on screen', async (width, height) => {
    await ap.setViewport({ width, height });
    for (const [path, main] of views()) {
      await ap.goto(`${ui.url}${path}`);
      await ap.waitForSelector(main);
      const r = await ap.evaluate((sel) => {
        const d = (globalThis as any).document;
        const box = (e: any) => {
          const b = e.getBoundingClientRect();
          return { l: b.left, r: b.right, t: b.top, b: b.bottom, w: b.width, h: b.height };
        };
        return {
          overflow: d.documentElement.scrollWidth - d.documentElement.clientWidth,
          vw: d.documentElement.clientWidth,
          vh: (globalThis as any).innerHeight,
          nav: [...d.querySelectorAll('header nav a')].map(box),
          h1: box(d.querySelector('h1')),
          main: box(d.querySelector(sel)),
        };
      }, main);
      expect(r.overflow, `${path}: horizontal overflow at ${width}px`).toBeLessThanOrEqual(0);
      expect(r.nav).toHaveLength(5);
      for (const b of [...r.nav, r.h1]) {
        expect(b.w, path).toBeGreaterThan(0);
        expect(b.l >= 0 && b.r <= r.vw && b.t >= 0 && b.b <= r.vh, `${path}: ${JSON.stringify(b)} on screen`).toBe(true);
      }
      expect(r.main.w > 0 && r.main.l >= 0 && r.main.r <= r.vw && r.main.t < r.vh, `${path}: main part ${JSON.stringify(r.main)} starts on screen`).toBe(true);
    }
  }, 60_000);

  it('Tab reaches the skip link, the navigation and the trace form; Enter follows a link and submits', async () => {
    await ap.setViewport({ width: 1280, height: 800 });
    await ap.goto(`${ui.url}/problems`);
    await ap.waitForSelector('h1');
    const active = () =>
      ap.evaluate(() => {
        const e = (globalThis as any).document.activeElement;
        const b = e.getBoundingClientRect();
        return { tag: e.tagName as string, text: (e.textContent ?? '').trim() as string, name: (e.getAttribute('name') ?? '') as string, visible: b.width > 1 && b.height > 1 };
      });
    await ap.keyboard.press('Tab');
    expect(await active()).toEqual({ tag: 'A', text: 'Skip to content', name: '', visible: true });
    const reached: string[] = [];
    for (let i = 0; i < 5; i++) {
      await ap.keyboard.press('Tab');
      const a = await active();
      expect(a.visible).toBe(true);
      reached.push(a.text);
    }
    expect(reached).toEqual(['Fleet', 'Tenants', 'Policies', 'Problems', 'Trace']);
    await ap.keyboard.press('Enter');
    await ap.waitForFunction(() => (globalThis as any).location.pathname === '/trace');
    await ap.waitForSelector('input[name=from]');
    // The view took focus (main): Tab goes into the form, in order.
    const fields: Array<[string, string | null]> = [['from', 'acme/web-1'], ['to', 'acme/app-1'], ['protocol', null], ['port', '8080']];
    for (const [name, value] of fields) {
      await ap.keyboard.press('Tab');
      expect((await active()).name).toBe(name);
      if (value) await ap.keyboard.type(value);
    }
    await ap.keyboard.press('Tab');
    expect(await active()).toMatchObject({ tag: 'BUTTON', text: 'Trace' });
    await ap.keyboard.press('Enter');
    await ap.waitForSelector('[data-testid="verdict"]');
    const want = await ap.evaluate(async () => ((await (await fetch('/api/trace?from=acme/web-1&to=acme/app-1&protocol=TCP&port=8080')).json()) as any).verdict);
    expect(await ap.$eval('[data-testid="verdict"]', (e) => e.textContent)).toBe(want);
  });

  it('text on every view has WCAG contrast of at least 4.5:1, host state colors at least 3:1 on the page', async () => {
    await ap.setViewport({ width: 1280, height: 800 });
    const all: Array<{ text: string; fg: string; bg: string; ratio: number }> = [];
    for (const [path, main] of views()) {
      await ap.goto(`${ui.url}${path}`);
      await ap.waitForSelector(main);
      // Every element with its own visible text: its color against the first opaque background
      // behind it (semi-transparent ones blended), computed as WCAG 2 defines contrast.
      const found = await ap.evaluate(() => {
        const g = globalThis as any;
        const rgba = (s: string) => (s.match(/[\d.]+/g) ?? ['0', '0', '0', '0']).map(Number).concat([1]).slice(0, 4) as number[];
        const over = (top: number[], under: number[]) => [0, 1, 2].map((i) => top[i]! * top[3]! + under[i]! * (1 - top[3]!)).concat([1]);
        const bgOf = (e: any): number[] => {
          const layers: number[][] = [];
          for (let x = e; x; x = x.parentElement) {
            const c = rgba(g.getComputedStyle(x).backgroundColor);
            if (c[3]! > 0) layers.push(c);
            if (c[3] === 1) break;
          }
          return layers.reduceRight((under, top) => over(top, under), [255, 255, 255, 1]);
        };
        const lum = (c: number[]) => {
          const [r, gg, b] = [0, 1, 2].map((i) => {
            const v = c[i]! / 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
          });
          return 0.2126 * r! + 0.7152 * gg! + 0.0722 * b!;
        };
        const out: Array<{ text: string; fg: string; bg: string; ratio: number }> = [];
        for (const e of g.document.querySelectorAll('body *')) {
          const own = [...e.childNodes].filter((n: any) => n.nodeType === 3 && n.textContent.trim()).map((n: any) => n.textContent.trim()).join(' ');
          const b = e.getBoundingClientRect();
          if (!own || b.width <= 1 || b.height <= 1) continue;
          const bg = bgOf(e);
          const fg = over(rgba(g.getComputedStyle(e).color), bg);
          const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
          out.push({ text: own.slice(0, 40), fg: fg.slice(0, 3).join(','), bg: bg.slice(0, 3).join(','), ratio: (hi! + 0.05) / (lo! + 0.05) });
        }
        return out;
      });
      all.push(...found.map((f) => ({ ...f, text: `${path}: ${f.text}` })));
    }
    expect(all.length).toBeGreaterThan(100);
    expect(all.filter((f) => f.ratio < 4.5)).toEqual([]);
    // Host cells are not text: WCAG's 3:1 for graphical objects, against the page background.
    const bg = await ap.evaluate(() => (globalThis as any).getComputedStyle((globalThis as any).document.body).backgroundColor as string);
    const lum = (hex: string) => {
      const [r, g, b] = [1, 3, 5].map((i) => {
        const v = parseInt(hex.slice(i, i + 2), 16) / 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
    };
    const bgHex = `#${(bg.match(/\d+/g) ?? []).slice(0, 3).map((v) => Number(v).toString(16).padStart(2, '0')).join('')}`;
    for (const [state, color] of Object.entries(STATE_COLOR)) {
      const [hi, lo] = [lum(color), lum(bgHex)].sort((x, y) => y - x);
      expect((hi! + 0.05) / (lo! + 0.05), state).toBeGreaterThanOrEqual(3);
    }
  }, 60_000);
});
