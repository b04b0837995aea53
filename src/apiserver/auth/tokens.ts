// ServiceAccount tokens (TokenRequest): compact JWTs signed HS256 with the server's key, carrying
// kube's claims (sub system:serviceaccount:NS:NAME, aud, exp/iat/nbf, kubernetes.io.serviceaccount
// name+uid). Verification checks signature, time window, audience and that the ServiceAccount still
// exists with the same uid, so deleting a ServiceAccount revokes its tokens like a bound token.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const API_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';
export const ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface SaClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': { namespace: string; serviceaccount: { name: string; uid: string }; node?: { name: string } };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** The signing key: persisted in the data directory so tokens survive a restart, random otherwise. */
export function loadOrCreateSigningKey(dataDir?: string): Buffer {
  if (!dataDir) return randomBytes(32);
  const path = join(dataDir, 'sa-signing.key');
  if (existsSync(path)) return Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(path, key.toString('hex'), { mode: 0o600 });
  return key;
}

export function signToken(key: Buffer, claims: SaClaims): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', key).update(`${head}.${body}`).digest();
  return `${head}.${body}.${b64url(sig)}`;
}

/** Claims of a valid token, or undefined (bad shape, signature, audience or time window). */
export function verifyToken(key: Buffer, token: string, nowSec = Math.floor(Date.now() / 1000)): SaClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const want = createHmac('sha256', key).update(`${parts[0]}.${parts[1]}`).digest();
  const got = Buffer.from(parts[2]!, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  let claims: SaClaims;
  try {
    const head = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    if (head?.alg !== 'HS256') return undefined;
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as SaClaims;
  } catch {
    return undefined;
  }
  if (typeof claims?.exp !== 'number' || typeof claims.nbf !== 'number' || nowSec >= claims.exp || nowSec < claims.nbf) return undefined;
  if (!Array.isArray(claims.aud) || !claims.aud.includes(API_AUDIENCE)) return undefined;
  const k = claims['kubernetes.io'];
  if (typeof k?.namespace !== 'string' || typeof k.serviceaccount?.name !== 'string' || typeof k.serviceaccount.uid !== 'string') return undefined;
  return claims;
}
