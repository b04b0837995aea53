// Trace view: from / to / protocol / port → the verdict and the deciding rule on each side, the same
// answer (and the same text) as `vmsafe trace`. The query is in the URL, so a trace can be linked.
import { useEffect, useState } from 'preact/hooks';
import { getJson } from './live';
import type { TraceAnswer, TraceSide } from './types';

function Side({ label, s }: { label: string; s: TraceSide | null }) {
  if (!s) return <tr><th>{label}</th><td colSpan={4}>not a vNIC: not filtered</td></tr>;
  return (
    <tr>
      <th>{label}</th>
      <td class={s.verdict === 'Allow' ? 'ok' : 'bad'}>{s.verdict}</td>
      <td>{s.tier}</td>
      <td>{s.policy ?? '—'}</td>
      <td>{s.rule ?? '—'} {s.host ? <span style="color:var(--dim)">(host {s.host})</span> : null}</td>
    </tr>
  );
}

export function Trace() {
  const params = new URLSearchParams(location.search);
  const [form, setForm] = useState({ from: params.get('from') ?? '', to: params.get('to') ?? '', protocol: params.get('protocol') ?? 'TCP', port: params.get('port') ?? '' });
  const [answer, setAnswer] = useState<TraceAnswer>();
  const [error, setError] = useState<string>();
  const run = (f: typeof form) => {
    const q = new URLSearchParams(f).toString();
    history.replaceState(null, '', `/trace?${q}`);
    setError(undefined);
    getJson<TraceAnswer>(`/api/trace?${q}`).then(setAnswer, (e: Error) => (setAnswer(undefined), setError(e.message)));
  };
  useEffect(() => {
    if (form.from && form.to) run(form);
  }, []);
  const field = (k: keyof typeof form) => ({ value: form[k], onInput: (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value }) });
  return (
    <>
      <h1>Trace</h1>
      <form class="trace" onSubmit={(e) => (e.preventDefault(), run(form))}>
        <label>From (NS/VM[/VNIC] or IP)<input name="from" required size={28} {...field('from')} /></label>
        <label>To (NS/VM[/VNIC] or IP)<input name="to" required size={28} {...field('to')} /></label>
        <label>Protocol
          <select name="protocol" {...field('protocol')}>{['TCP', 'UDP', 'SCTP', 'ICMP'].map((p) => <option key={p}>{p}</option>)}</select>
        </label>
        <label>Port<input name="port" inputMode="numeric" size={7} {...field('port')} /></label>
        <button type="submit">Trace</button>
      </form>
      {error && <p class="err" role="alert">{error}</p>}
      {answer && (
        <section aria-live="polite">
          <p class={`verdict ${answer.verdict === 'Allow' ? 'ok' : 'bad'}`} data-testid="verdict">{answer.verdict}</p>
          <table>
            <thead><tr><th>Side</th><th>Verdict</th><th>Tier</th><th>Policy</th><th>Rule</th></tr></thead>
            <tbody><Side label="egress" s={answer.egress} /><Side label="ingress" s={answer.ingress} /></tbody>
          </table>
          <h2>As <code>vmsafe trace</code> prints it</h2>
          <pre data-testid="trace-text">{answer.text}</pre>
        </section>
      )}
    </>
  );
}
