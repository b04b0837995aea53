// Three typical pull requests against examples/ (test fixtures for `vmsafe diff`, shown in the README).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

function edit(dir: string, file: string, from: string, to: string): void {
  const p = join(dir, file);
  const text = readFileSync(p, 'utf8');
  if (!text.includes(from)) throw new Error(`${file}: anchor not found: ${from}`);
  writeFileSync(p, text.replace(from, to));
}

/** Copy examples/ and apply one change; returns the copy's directory, removed when the calling test finishes. */
export function prDir(name: 'new-cross-tenant-allow' | 'tighten-provider-rule' | 'move-vm-tags', root = 'examples'): string {
  const dir = mkdtempSync(join(tmpdir(), `vmsafe-pr-${name}-`));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(root, dir, { recursive: true });
  if (name === 'new-cross-tenant-allow') {
    // acme's app tier may call globex on 8443 too, and globex lets acme in on 8443.
    edit(dir, '50-tenant-policies.yaml', '        - { protocol: TCP, port: 443 }\n    - name: dns\n', '        - { protocol: TCP, port: 443 }\n        - { protocol: TCP, port: 8443 }\n    - name: dns\n');
    edit(dir, '50-tenant-policies.yaml', '        - tenants: [acme]              # every VM of tenant acme\n      ports:\n        - { protocol: TCP, port: 443 }\n',
      '        - tenants: [acme]              # every VM of tenant acme\n      ports:\n        - { protocol: TCP, port: 443 }\n        - { protocol: TCP, port: 8443 }\n');
  } else if (name === 'tighten-provider-rule') {
    // The NOC no longer pings PCI databases.
    edit(dir, '40-provider-policies.yaml', '        - { protocol: TCP, port: 9100 }\n        - { protocol: ICMP }\n    - name: pci-zone', '        - { protocol: TCP, port: 9100 }\n    - name: pci-zone');
  } else {
    // globex takes the web tag off api-1.
    edit(dir, '60-vms.yaml', '  tags: [web, pci]', '  tags: [pci]');
  }
  return dir;
}
