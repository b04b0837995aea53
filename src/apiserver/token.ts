// The admin token of a data directory: minted once, kept in DIR/token (0600), so a restart with the
// same directory keeps every kubeconfig, operator and agent working.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDataDir } from './wal';

export function loadOrCreateToken(dataDir: string): string {
  ensureDataDir(dataDir);
  const path = join(dataDir, 'token');
  if (existsSync(path)) {
    const t = readFileSync(path, 'utf8').trim();
    if (t) return t;
  }
  const token = randomBytes(24).toString('hex');
  writeFileSync(path, token + '\n', { mode: 0o600 });
  return token;
}

/** A token from --token-file (first line, trimmed); a one-line error naming the flag otherwise. */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`--token-file: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const t = text.split('\n')[0]!.trim();
  if (!t) throw new Error(`--token-file: ${path} is empty`);
  return t;
}
