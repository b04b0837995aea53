// Host, Tenants, Tenant, Policies and Problems views: tables of text (names and reasons are DOM text,
// searchable and readable by assistive tools), refreshed when a push says their kinds changed.
import { useEffect, useState } from 'preact/hooks';
import { STATE_COLOR } from './colors';
import { AccessBanner, Conditions, fmt, hostHref, Link, Loading, tenantHref } from './common';
import { getJson, useView } from './live';
import type { Access, HostView, PoliciesView, PolicyRow, ProblemsView, TenantsView, TenantView } from './types';

function useAccess(): Access | undefined {
  return useView<Access>('/api/access', ['Host', 'VM', 'Tenant', 'SecurityPolicy']).data;
}

export function Host({ name }: { name: string }) {
  const { data: h, error } = useView<HostView>(`/api/hosts/${encodeURIComponent(name)}`, ['Host', 'VM', 'Event']);
  if (!h) return <><h1>Host {name}</h1><Loading error={error} /></>;
  return (
    <>
      <h1>
        Host {h.name} <span class="sw" style={{ background: STATE_COLOR[h.cell.state] }} />
        <span data-testid="host-state">{h.cell.state}</span>
        {h.cell.reason ? <span style="color:var(--dim)"> ({h.cell.reason})</span> : null}
      </h1>
      <div class="grid">
        <div class="panel">
          <dl>
            <dt>Pool</dt><dd>{h.cell.pool}</dd>
            <dt>Tags</dt><dd>{h.tags.join(', ') || '—'}</dd>
            <dt>VMs</dt><dd>{fmt(h.allocated.vms)} / {fmt(h.capacity.vms)}</dd>
            <dt>vNICs</dt><dd>{fmt(h.allocated.vnics)} / {fmt(h.capacity.vnics)}</dd>
            <dt>Programs</dt><dd>{h.filter.programs ?? 0} ({h.filter.rules ?? 0} rules, {h.filter.bindings ?? 0} bindings)</dd>
            <dt>Desired hash</dt><dd><code>{h.filter.desiredHash ?? '—'}</code></dd>
            <dt>Applied hash</dt><dd><code class={h.filter.appliedHash === h.filter.desiredHash ? 'ok' : 'bad'}>{h.filter.appliedHash ?? '—'}</code></dd>
          </dl>
        </div>
        <div class="panel">
          <h2 style="margin-top:0">Conditions</h2>
          <Conditions conditions={h.conditions} />
        </div>
      </div>
      <h2>Recent events</h2>
      {h.events.length === 0 ? <p>None seen since the dashboard started.</p> : (
        <table>
          <thead><tr><th>Time</th><th>Type</th><th>Reason</th><th>Message</th></tr></thead>
          <tbody>{h.events.map((e, i) => <tr key={i}><td>{e.time}</td><td>{e.type}</td><td>{e.reason}</td><td>{e.message}</td></tr>)}</tbody>
        </table>
      )}
      <h2>VMs ({fmt(h.vms.length)})</h2>
      <table>
        <thead><tr><th>VM</th><th>Tenant</th><th>Phase</th><th class="num">vNICs</th><th>Program</th></tr></thead>
        <tbody>
          {h.vms.map((v) => (
            <tr key={v.key}>
              <td>{v.key}</td><td><Link href={tenantHref(v.tenant)}>{v.tenant}</Link></td>
              <td class={v.phase === 'Running' ? 'ok' : 'warn'}>{v.phase}</td><td class="num">{v.vnics}</td><td><code>{v.program}</code></td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function Tenants() {
  const [q, setQ] = useState(new URLSearchParams(location.search).get('q') ?? '');
  const [data, setData] = useState<TenantsView>();
  const [error, setError] = useState<string>();
  const access = useAccess();
  useEffect(() => {
    const t = setTimeout(() => {
      history.replaceState(null, '', q ? `/tenants?q=${encodeURIComponent(q)}` : '/tenants');
      getJson<TenantsView>(`/api/tenants?q=${encodeURIComponent(q)}`).then(setData, (e: Error) => setError(e.message));
    }, 120);
    return () => clearTimeout(t);
  }, [q]);
  return (
    <>
      <h1>Tenants</h1>
      <AccessBanner access={access} />
      <label>Search tenants <input type="search" value={q} autoFocus onInput={(e) => setQ((e.target as HTMLInputElement).value)} aria-controls="tenant-results" /></label>
      {!data ? <Loading error={error} /> : (
        <>
          {data.derived && <p data-testid="tenants-derived">Tenant objects are not readable with this kubeconfig: these are the tenants of the VMs it may read.</p>}
          <p role="status">{fmt(data.matched)} of {fmt(data.total)} tenants{data.matched > data.tenants.length ? ` (first ${fmt(data.tenants.length)} shown)` : ''}</p>
          <table id="tenant-results">
            <thead><tr><th>Tenant</th><th>Display name</th><th class="num">VMs</th><th>Ready</th></tr></thead>
            <tbody>
              {data.tenants.map((t) => (
                <tr key={t.name}><td><Link href={tenantHref(t.name)}>{t.name}</Link></td><td>{t.displayName}</td><td class="num">{fmt(t.vms)}</td><td class={t.ready === 'True' ? 'ok' : 'warn'}>{t.ready}</td></tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}

function Progress({ p }: { p: PolicyRow }) {
  const pct = p.hostsDesired ? Math.round((100 * p.hostsRealized) / p.hostsDesired) : 100;
  return (
    <div style="display:flex;gap:8px;align-items:center">
      <div class="bar" role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100} aria-label={`${p.key} realized on ${p.hostsRealized} of ${p.hostsDesired} hosts`}>
        <i style={{ width: `${pct}%` }} />
      </div>
      <span>{p.hostsRealized}/{p.hostsDesired} hosts</span>
    </div>
  );
}

function PolicyTable({ rows }: { rows: PolicyRow[] }) {
  return (
    <table>
      <thead><tr><th>Policy</th><th>Tier</th><th class="num">Priority</th><th>Accepted</th><th>Realized</th><th>Progress</th><th class="num">vNICs</th><th>Reason</th></tr></thead>
      <tbody>
        {rows.map((p) => (
          <tr key={p.key}>
            <td>{p.key}</td><td>{p.tier}</td><td class="num">{p.priority}</td>
            <td class={p.accepted === 'True' ? 'ok' : 'bad'}>{p.accepted}</td><td class={p.realized === 'True' ? 'ok' : 'warn'}>{p.realized}</td>
            <td><Progress p={p} /></td><td class="num">{fmt(p.vnics)}</td><td>{p.reason}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Tenant({ name }: { name: string }) {
  const { data: t, error } = useView<TenantView>(`/api/tenants/${encodeURIComponent(name)}`, ['Tenant', 'VM', 'SecurityPolicy']);
  const access = useAccess();
  if (!t) return <><h1>Tenant {name}</h1><Loading error={error} /></>;
  return (
    <>
      <h1>Tenant {t.name}{t.displayName ? ` — ${t.displayName}` : ''}</h1>
      <AccessBanner access={access} />
      {t.derived && <p data-testid="tenant-derived">The Tenant object is not readable with this kubeconfig: shown from its VMs and the policies in their namespaces.</p>}
      <div class="grid">
        <div class="panel">
          <dl>
            <dt>Namespaces</dt><dd>{t.namespaces.join(', ')}</dd>
            <dt>Placement tags</dt><dd>{t.placementTags.join(', ') || '—'}</dd>
            <dt>VMs</dt><dd>{fmt(t.vms.length)}</dd>
          </dl>
        </div>
        <div class="panel">
          <h2 style="margin-top:0">Reachability</h2>
          {t.reach.available ? (
            <>
              <dl data-testid="reach">
                <dt>Can reach</dt><dd>{t.reach.reaches.length ? t.reach.reaches.map((r, i) => <span key={r.tenant}>{i ? '; ' : ''}<Link href={tenantHref(r.tenant)}>{r.tenant}</Link> {r.ports}</span>) : 'no other tenant'}</dd>
                <dt>Reached by</dt><dd>{t.reach.reachedBy.length ? t.reach.reachedBy.map((r, i) => <span key={r.tenant}>{i ? '; ' : ''}<Link href={tenantHref(r.tenant)}>{r.tenant}</Link> {r.ports}</span>) : 'no other tenant'}</dd>
                <dt>From outside</dt><dd>{t.reach.outside || 'nothing'}</dd>
              </dl>
              <p style="color:var(--dim)">vmsafe analyze over the live objects, {new Date(t.reach.at).toLocaleTimeString('en-GB')}</p>
            </>
          ) : <p>({t.reach.why})</p>}
        </div>
      </div>
      <h2>Conditions</h2>
      <Conditions conditions={t.conditions} />
      <h2>Policies ({t.policies.length}), in evaluation order</h2>
      <PolicyTable rows={t.policies} />
      <h2>VMs ({fmt(t.vms.length)})</h2>
      <table>
        <thead><tr><th>VM</th><th>Phase</th><th>Host</th></tr></thead>
        <tbody>{t.vms.map((v) => <tr key={v.key}><td>{v.key}</td><td class={v.phase === 'Running' ? 'ok' : 'warn'}>{v.phase}</td><td>{v.host ? <Link href={hostHref(v.host)}>{v.host}</Link> : '—'}</td></tr>)}</tbody>
      </table>
    </>
  );
}

export function Policies() {
  const { data, error } = useView<PoliciesView>('/api/policies', ['SecurityPolicy']);
  const access = useAccess();
  if (!data) return <><h1>Policies</h1><Loading error={error} /></>;
  return (
    <>
      <h1>Policies</h1>
      <AccessBanner access={access} />
      <p>In evaluation order: Provider, then Tenant, then Baseline; within a tier by (priority, name).</p>
      {['Provider', 'Tenant', 'Baseline'].map((tier) => {
        const rows = data.policies.filter((p) => p.tier === tier);
        return (
          <section key={tier}>
            <h2>{tier} tier ({rows.length})</h2>
            {rows.length ? <PolicyTable rows={rows} /> : <p>None.</p>}
          </section>
        );
      })}
    </>
  );
}

export function Problems() {
  const { data, error } = useView<ProblemsView>('/api/problems', ['Host', 'VM', 'SecurityPolicy']);
  const access = useAccess();
  if (!data) return <><h1>Problems</h1><Loading error={error} /></>;
  const href = (p: ProblemsView['problems'][number]) => (p.kind === 'Host' ? hostHref(p.name) : null);
  return (
    <>
      <h1>Problems ({fmt(data.total)})</h1>
      <AccessBanner access={access} />
      {data.problems.length === 0 ? <p class="ok">Everything is healthy.</p> : (
        <table data-testid="problems">
          <thead><tr><th>Kind</th><th>Name</th><th>Problem</th><th>Reason</th><th>Message</th></tr></thead>
          <tbody>
            {data.problems.map((p) => (
              <tr key={`${p.kind}/${p.name}`}>
                <td>{p.kind}</td><td>{href(p) ? <Link href={href(p)!}>{p.name}</Link> : p.name}</td>
                <td class="bad">{p.problem}</td><td>{p.reason}</td><td>{p.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
