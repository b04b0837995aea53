// Fleet view: every host a cell on a canvas (one per pool), colored by state, with its allocation as a
// light strip along the bottom; totals on top; live patches redraw only the changed cells. Keyboard:
// Tab to a pool, arrows to move, Enter to open the host. Unhealthy hosts are also listed as text.
import { useEffect, useRef, useState } from 'preact/hooks';
import { STATE_COLOR } from './colors';
import type { ComponentChildren } from 'preact';
import { AccessBanner, denied, fmt, hostHref, Link, Loading, navigate } from './common';
import { getJson, onPush } from './live';
import type { Access, FleetView, HostCell, HostState, Totals } from './types';

interface Layout {
  size: number;
  gap: number;
  cols: number;
}

/** Test and benchmark hooks: where each host is drawn and when it last changed on screen. */
interface Hooks {
  rect(name: string): { pool: string; x: number; y: number; w: number; h: number } | undefined;
  /** Per host: what is drawn (state, VMs, capacity, programs) and since when (Date.now(), comparable across processes). */
  drawnAt: Record<string, { state: HostState; sig: string; at: number }>;
  drawn: number;
}
declare global {
  interface Window {
    __vmsafe?: Hooks;
  }
}

const cellSize = (n: number) => (n > 4000 ? 10 : n > 1500 ? 14 : n > 600 ? 18 : 24);

function layoutFor(width: number, n: number): Layout {
  const size = cellSize(n);
  const gap = size >= 18 ? 3 : 2;
  return { size, gap, cols: Math.max(1, Math.floor((width + gap) / (size + gap))) };
}

function drawCell(ctx: CanvasRenderingContext2D, l: Layout, i: number, c: HostCell, selected: boolean): void {
  const x = (i % l.cols) * (l.size + l.gap);
  const y = Math.floor(i / l.cols) * (l.size + l.gap);
  ctx.clearRect(x, y, l.size, l.size);
  ctx.fillStyle = STATE_COLOR[c.state];
  ctx.fillRect(x, y, l.size, l.size);
  // Allocation strip: how full the host is.
  const fill = c.capacity > 0 ? Math.min(1, c.vms / c.capacity) : 0;
  ctx.fillStyle = 'rgba(0,0,0,0.45)';
  ctx.fillRect(x, y + l.size - 4, l.size, 4);
  ctx.fillStyle = 'rgba(255,255,255,0.9)';
  ctx.fillRect(x, y + l.size - 4, Math.round(l.size * fill), 4);
  if (selected) {
    ctx.strokeStyle = '#ffd24d';
    ctx.lineWidth = 2;
    ctx.strokeRect(x + 1, y + 1, l.size - 2, l.size - 2);
  }
}

function describe(c: HostCell): string {
  return `${c.name}: ${c.state}${c.reason ? ` (${c.reason})` : ''}, ${c.vms}/${c.capacity} VMs, ${c.programs} programs`;
}

/** One pool's canvas; the cell size comes from the whole fleet's host count, so pools line up. */
function Pool(props: { pool: string; cells: HostCell[]; width: number; total: number; version: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [sel, setSel] = useState(-1);
  const [tip, setTip] = useState<{ x: number; y: number; c: HostCell } | null>(null);
  const { cells } = props;
  const l = layoutFor(props.width, Math.max(props.total, 1));
  const rows = Math.ceil(cells.length / l.cols);
  const w = l.cols * (l.size + l.gap);
  const h = Math.max(rows * (l.size + l.gap) - l.gap, l.size);

  useEffect(() => {
    const cv = ref.current;
    if (!cv) return;
    const dpr = window.devicePixelRatio || 1;
    cv.width = w * dpr;
    cv.height = h * dpr;
    const ctx = cv.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const hooks = window.__vmsafe!;
    const now = Date.now();
    cells.forEach((c, i) => {
      drawCell(ctx, l, i, c, i === sel);
      const sig = `${c.state}/${c.vms}/${c.capacity}/${c.programs}`;
      if (hooks.drawnAt[c.name]?.sig !== sig) hooks.drawnAt[c.name] = { state: c.state, sig, at: now };
    });
    hooks.drawn++;
  });

  const indexAt = (ev: MouseEvent) => {
    const r = (ev.target as HTMLCanvasElement).getBoundingClientRect();
    const col = Math.floor((ev.clientX - r.left) / (l.size + l.gap));
    const row = Math.floor((ev.clientY - r.top) / (l.size + l.gap));
    const i = row * l.cols + col;
    return col < l.cols && i >= 0 && i < cells.length ? i : -1;
  };
  const key = (ev: KeyboardEvent) => {
    const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: l.cols, ArrowUp: -l.cols, Home: -Infinity, End: Infinity };
    if (ev.key === 'Enter' && sel >= 0) return navigate(hostHref(cells[sel]!.name));
    const d = moves[ev.key];
    if (d === undefined) return;
    ev.preventDefault();
    const next = d === -Infinity ? 0 : d === Infinity ? cells.length - 1 : Math.min(cells.length - 1, Math.max(0, (sel < 0 ? 0 : sel) + (sel < 0 ? 0 : d)));
    setSel(next);
  };
  const selected = sel >= 0 ? cells[sel] : undefined;
  const unhealthy = cells.filter((c) => c.state !== 'Healthy').length;
  return (
    <section>
      <h2>
        Pool {props.pool} <span style="color:var(--dim);font-weight:400">— {cells.length} hosts{unhealthy ? `, ${unhealthy} not healthy` : ''}</span>
      </h2>
      <div class="fleetwrap">
        <canvas
          ref={ref}
          data-pool={props.pool}
          tabIndex={0}
          role="img"
          aria-label={`Pool ${props.pool}: ${cells.length} hosts, ${unhealthy} not healthy. Arrow keys choose a host, Enter opens it.`}
          style={{ width: `${w}px`, height: `${h}px`, display: 'block', cursor: 'pointer' }}
          onKeyDown={key}
          onFocus={() => sel < 0 && cells.length && setSel(0)}
          onBlur={() => setSel(-1)}
          onMouseMove={(ev) => {
            const i = indexAt(ev);
            setTip(i < 0 ? null : { x: ev.offsetX + 14, y: ev.offsetY + 14, c: cells[i]! });
          }}
          onMouseLeave={() => setTip(null)}
          onClick={(ev) => {
            const i = indexAt(ev);
            if (i >= 0) navigate(hostHref(cells[i]!.name));
          }}
        />
        {tip && <div class="tip" style={{ left: `${tip.x}px`, top: `${tip.y}px` }}>{describe(tip.c)}</div>}
        <div class="sr" aria-live="polite">{selected ? describe(selected) : ''}</div>
      </div>
    </section>
  );
}

/** One total; "hidden" (not 0) when RBAC kept the list out of reach: a count never lies. */
function Stat(props: { name: string; n: number; hidden: boolean; children: ComponentChildren }) {
  return (
    <div class="stat">
      <b data-total={props.name}>{props.hidden ? '—' : fmt(props.n)}</b>
      <span>{props.hidden ? `${props.name}: hidden (not readable)` : props.children}</span>
    </div>
  );
}

function TotalsBar({ t, access }: { t: Totals; access?: Access }) {
  const phases = Object.entries(t.vmsByPhase).sort((a, b) => b[1] - a[1]);
  const notHealthy = t.hosts - (t.hostsByState.Healthy ?? 0);
  const ns = access?.namespace ? ` in ${access.namespace}` : '';
  return (
    <div class="totals" data-testid="totals">
      <Stat name="hosts" n={t.hosts} hidden={denied(access, 'hosts')}>hosts · <span data-total="hosts-not-healthy">{fmt(notHealthy)}</span> not healthy</Stat>
      <Stat name="vms" n={t.vms} hidden={denied(access, 'vms')}>VMs{ns} · {phases.map(([p, n]) => <span key={p} data-phase={p}>{p} {fmt(n)} </span>)}</Stat>
      <Stat name="vnics" n={t.vnics} hidden={denied(access, 'vms')}>vNICs (firewalls){ns}</Stat>
      <Stat name="tenants" n={t.tenants} hidden={denied(access, 'tenants')}>tenants</Stat>
      <Stat name="policies" n={t.policies} hidden={denied(access, 'securitypolicies')}>policies{ns} · {fmt(t.policiesRealized)} realized{t.policiesNotAccepted ? ` · ${fmt(t.policiesNotAccepted)} not accepted` : ''}</Stat>
    </div>
  );
}

export function Fleet() {
  const [view, setView] = useState<{ totals: Totals; cells: Map<string, HostCell>; states: HostState[]; access?: Access; version: number } | null>(null);
  const [error, setError] = useState<string>();
  const wrap = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(1200);
  window.__vmsafe ??= { rect: () => undefined, drawnAt: {}, drawn: 0 };

  useEffect(() => {
    let alive = true;
    getJson<FleetView & { access: Access }>('/api/fleet').then(
      (v) => alive && setView({ totals: v.totals, cells: new Map(v.cells.map((c) => [c.name, c])), states: v.states, access: v.access, version: 0 }),
      (e: Error) => setError(e.message),
    );
    const off = onPush((p) => {
      setView((v) => {
        if (!v) return v;
        for (const c of p.cells) v.cells.set(c.name, c);
        for (const r of p.removed) v.cells.delete(r);
        return { ...v, totals: p.totals, access: p.access, version: v.version + 1 };
      });
    });
    const ro = new ResizeObserver(() => wrap.current && setWidth(wrap.current.clientWidth));
    if (wrap.current) ro.observe(wrap.current);
    return () => {
      alive = false;
      off();
      ro.disconnect();
    };
  }, []);

  const pools = new Map<string, HostCell[]>();
  for (const c of view?.cells.values() ?? []) {
    let list = pools.get(c.pool);
    if (!list) pools.set(c.pool, (list = []));
    list.push(c);
  }
  const sorted = [...pools].sort((a, b) => a[0].localeCompare(b[0], 'en', { numeric: true }));
  for (const [, list] of sorted) list.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  const total = view?.cells.size ?? 0;
  // Where each host is drawn (for tests and the benchmark), from the same layout the pools use.
  if (window.__vmsafe)
    window.__vmsafe.rect = (name) => {
      for (const [pool, list] of sorted) {
        const i = list.findIndex((c) => c.name === name);
        if (i < 0) continue;
        const l = layoutFor(width, Math.max(total, 1));
        return { pool, x: (i % l.cols) * (l.size + l.gap), y: Math.floor(i / l.cols) * (l.size + l.gap), w: l.size, h: l.size };
      }
      return undefined;
    };
  const bad = [...(view?.cells.values() ?? [])].filter((c) => c.state !== 'Healthy').slice(0, 200);

  return (
    <div ref={wrap}>
      <h1>Fleet</h1>
      {!view ? (
        <Loading error={error} />
      ) : (
        <>
          <AccessBanner access={view.access} />
          <TotalsBar t={view.totals} access={view.access} />
          {denied(view.access, 'hosts') && (
            <p data-testid="hosts-hidden">
              Hosts are hidden: this user may not list them, so there are no host cells. Your VMs still name the host they run on (their status).
            </p>
          )}
          {!denied(view.access, 'hosts') && (
            <>
              <div class="legend" aria-label="Host states">
                {view.states.map((s) => (
                  <span key={s}><i class="sw" style={{ background: STATE_COLOR[s] }} />{s} {fmt(view.totals.hostsByState[s] ?? 0)}</span>
                ))}
                <span><i class="sw" style="background:#fff" />strip: VMs / capacity</span>
              </div>
              {sorted.map(([pool, list]) => (
                <Pool key={pool} pool={pool} cells={list} width={width} total={total} version={view.version} />
              ))}
              <h2>Hosts not healthy ({fmt(view.totals.hosts - (view.totals.hostsByState.Healthy ?? 0))})</h2>
              {bad.length === 0 ? (
                <p>None.</p>
              ) : (
                <ul data-testid="unhealthy">
                  {bad.map((c) => (
                    <li key={c.name}><Link href={hostHref(c.name)}>{c.name}</Link> — {c.state}{c.reason ? ` (${c.reason})` : ''}</li>
                  ))}
                </ul>
              )}
            </>
          )}
        </>
      )}
    </div>
  );
}

