// The real kubectl against a kubeconfig, asynchronously (an in-process API server keeps serving).
import { spawn } from 'node:child_process';

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

export function kubectlFor(kubeconfigPath: string, home: string) {
  const env = { ...process.env, KUBECONFIG: kubeconfigPath, KUBECACHEDIR: `${home}/cache`, HOME: home };
  const kubectl = (args: string[], o: { input?: string; timeoutMs?: number } = {}) =>
    new Promise<KubectlResult>((done, fail) => {
      const child = spawn('kubectl', args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 20_000);
      child.on('error', fail);
      child.on('close', (code) => {
        clearTimeout(timer);
        done({ stdout, stderr, code: code ?? -1 });
      });
      child.stdin.end(o.input ?? '');
    });
  /** kubectl ... -o json, parsed; throws with stderr on failure. */
  const json = async (args: string[]) => {
    const r = await kubectl([...args, '-o', 'json']);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  return { kubectl, json, env };
}
