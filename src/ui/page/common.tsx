// Small pieces every view uses: links that stay in the page, the access banner, condition tables.
import type { ComponentChildren } from 'preact';
import type { Access, Condition } from './types';

export function navigate(path: string): void {
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function Link(props: { href: string; children: ComponentChildren; current?: boolean }) {
  return (
    <a
      href={props.href}
      aria-current={props.current ? 'page' : undefined}
      onClick={(e) => {
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

export const hostHref = (name: string) => `/hosts/${encodeURIComponent(name)}`;
export const tenantHref = (name: string) => `/tenants/${encodeURIComponent(name)}`;

const NAMESPACED = ['vms', 'securitypolicies', 'events'];

/** Whose view this is and what RBAC kept out of it: shown whenever the view is not the whole fleet. */
export function AccessBanner({ access }: { access?: Access }) {
  if (!access || (access.denied.length === 0 && !access.namespace)) return null;
  const who = access.user ? <b>{access.user}</b> : 'this kubeconfig';
  const clusterWideDenied = !access.namespace && access.denied.some((d) => NAMESPACED.includes(d.resource));
  return (
    <div class="banner" role="status" data-testid="access">
      Showing what {who} may read{access.namespace ? <> in namespace <b>{access.namespace}</b></> : null}.
      {access.denied.length > 0 && (
        <>
          {' '}Not readable (hidden here):{' '}
          {access.denied.map((d, i) => (
            <span key={d.resource}>
              {i > 0 ? '; ' : ''}
              <b>{d.resource}</b> ({d.message})
            </span>
          ))}
          .
        </>
      )}
      {clusterWideDenied && <> A tenant admin: start <code>vmsafe ui --namespace NS</code> with your namespace.</>}
    </div>
  );
}

export const denied = (access: Access | undefined, resource: string) => !!access?.denied.some((d) => d.resource === resource);

export function Conditions({ conditions }: { conditions: Condition[] }) {
  if (conditions.length === 0) return <p>No conditions reported yet.</p>;
  return (
    <table>
      <thead>
        <tr><th>Type</th><th>Status</th><th>Reason</th><th>Message</th></tr>
      </thead>
      <tbody>
        {conditions.map((c) => (
          <tr key={c.type}>
            <td>{c.type}</td>
            <td class={c.status === 'True' ? 'ok' : 'bad'}>{c.status}</td>
            <td>{c.reason}</td>
            <td>{c.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Loading({ error }: { error?: string }) {
  return error ? <p class="err" role="alert">{error}</p> : <p aria-busy="true">Loading…</p>;
}

export const fmt = (n: number) => n.toLocaleString('en-US');
