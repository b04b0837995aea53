// The dashboard page: a header with the views, a path router (every view has its own URL) and the
// live stream. Entry point of the bundle.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Link } from './common';
import { Fleet } from './fleet';
import { startStream, useConnected } from './live';
import { Trace } from './trace';
import { Host, Policies, Problems, Tenant, Tenants } from './views';

const NAV: Array<[string, string]> = [['/fleet', 'Fleet'], ['/tenants', 'Tenants'], ['/policies', 'Policies'], ['/problems', 'Problems'], ['/trace', 'Trace']];

function route(path: string) {
  const m = path.match(/^\/(hosts|tenants)\/([^/]+)\/?$/);
  if (m) return m[1] === 'hosts' ? <Host key={path} name={decodeURIComponent(m[2]!)} /> : <Tenant key={path} name={decodeURIComponent(m[2]!)} />;
  switch (path.replace(/\/$/, '')) {
    case '/tenants': return <Tenants />;
    case '/policies': return <Policies />;
    case '/problems': return <Problems />;
    case '/trace': return <Trace />;
    default: return <Fleet />;
  }
}

function App() {
  const [path, setPath] = useState(location.pathname);
  const up = useConnected();
  useEffect(() => {
    const on = () => setPath(location.pathname);
    addEventListener('popstate', on);
    return () => removeEventListener('popstate', on);
  }, []);
  useEffect(() => {
    const title = NAV.find(([p]) => path.startsWith(p))?.[1] ?? 'Host';
    document.title = `${title} · vmsafe`;
    document.querySelector('main')?.focus();
  }, [path]);
  return (
    <>
      <a class="sr" href="#main">Skip to content</a>
      <header>
        <span class="brand">vmsafe</span>
        <nav aria-label="Views">
          {NAV.map(([p, label]) => <Link key={p} href={p} current={path === p || (p !== '/fleet' && path.startsWith(p)) || (p === '/fleet' && path.startsWith('/hosts'))}>{label}</Link>)}
        </nav>
        <span class="live" role="status">{up ? '● live' : '○ reconnecting…'}</span>
      </header>
      <main id="main" tabIndex={-1}>{route(path)}</main>
    </>
  );
}

startStream();
render(<App />, document.getElementById('app')!);
