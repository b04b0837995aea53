// kube-apiserver's --token-auth-file format: CSV lines `token,user,uid,"group1,group2"` (groups
// optional, quoted when several; `#` comments and blank lines skipped).
import type { StaticUser } from './authn';

export class TokenFileError extends Error {}

function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '"') {
      if (quoted && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else quoted = !quoted;
    } else if (ch === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quoted) throw new TokenFileError('unterminated quote');
  out.push(cur);
  return out.map((s) => s.trim());
}

export function parseTokenFile(text: string, source = 'token file'): StaticUser[] {
  const users: StaticUser[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const where = `${source}:${i + 1}`;
    let f: string[];
    try {
      f = splitCsv(line);
    } catch (e) {
      throw new TokenFileError(`${where}: ${(e as Error).message}`);
    }
    const [token, username, uid, groups] = f;
    if (f.length < 3 || f.length > 4 || !token || !username) throw new TokenFileError(`${where}: expected token,user,uid[,"group1,group2"]`);
    if (seen.has(token)) throw new TokenFileError(`${where}: duplicate token`);
    seen.add(token);
    users.push({ token, username, uid: uid || undefined, groups: groups ? groups.split(',').map((g) => g.trim()).filter(Boolean) : [] });
  });
  return users;
}
