import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBindAddress, startOperator, type Operator } from '../../src/controllers/operator';
import { silentLogger } from '../../src/util/log';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver';
import { waitFor } from '../helpers/wait';

describe('parseBindAddress', () => {
  it.each([
    [':8080', { host: '0.0.0.0', port: 8080 }],
    ['127.0.0.1:9000', { host: '127.0.0.1', port: 9000 }],
    ['0', undefined],
    [undefined, undefined],
  ])('%s', (text, want) => expect(parseBindAddress(text)).toEqual(want));

  it('rejects a bad port', () => expect(() => parseBindAddress(':http')).toThrow('bad bind address ":http"'));
});

describe('operator metrics and probes', () => {
  let server: TestApiServer;
  let op: Operator;
  beforeAll(async () => {
    server = await startTestApiServer();
    await server.kubectl(['create', 'namespace', 'vmsafe-system']);
    op = await startOperator({
      kubeconfig: { file: server.kubeconfigPath },
      logger: silentLogger,
      metricsAddress: { host: '127.0.0.1', port: 0 },
      probeAddress: { host: '127.0.0.1', port: 0 },
    });
  });
  afterAll(async () => {
    await op?.stop();
    await server?.close();
  });

  it('serves /metrics with controller and operator series, and ready probes', async () => {
    const r = await server.kubectl(['apply', '-f', '-'], {
      input: 'apiVersion: vmsafe.io/v1alpha1\nkind: Host\nmetadata: {name: h1}\nspec: {tags: [gold]}\n',
    });
    expect(r.code, r.stderr).toBe(0);
    const text = await waitFor('host metrics', async () => {
      const t = await (await fetch(`${op.metricsServer!.url}/metrics`)).text();
      return /vmsafe_hosts 1\b/.test(t) ? t : undefined;
    }, { timeoutMs: 15_000 });
    expect(text).toMatch(/vmsafe_reconcile_total\{controller="host",result="success"\} \d+/);
    expect(text).toMatch(/vmsafe_workqueue_depth\{name="host"\} \d+/);
    expect(text).toMatch(/vmsafe_hosts_converged \d+/);
    expect(text).toMatch(/vmsafe_compile_seconds_total [\d.e-]+/);
    const ready = await fetch(`${op.probeServer!.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toContain('[+]informers-synced ok');
  });
});
