// Agent heartbeat: renew a Lease named after the host in vmsafe-system every N seconds (like a kubelet
// node lease). The Host controller reads Ready from renewTime + leaseDurationSeconds (isLeaseFresh).
import { PROVIDER_NAMESPACE } from '../api/common';
import { silentLogger, type Logger } from '../util/log';
import { realClock, type Clock, type TimerHandle } from './clock';
import { LEASES, type KubeClient } from './client';
import { toApiError } from './errors';
import { microTime, type LeaseObject } from './leasetime';

/** Fraction of the interval a renewal may come early by. */
const JITTER = 0.1;

/**
 * Delay until the next renewal: jittered down by up to 10 % (never later than the interval, so the
 * lease stays as fresh), so that agents started together drift apart instead of renewing in one burst
 * forever (the kubelet jitters its node lease renewal the same way).
 */
export function renewalDelay(intervalMs: number, random: () => number): number {
  return intervalMs * (1 - JITTER * random());
}

export interface HeartbeatOptions {
  client: KubeClient;
  /** Lease name = host name. */
  hostName: string;
  namespace?: string;
  /** Written as holderIdentity; default the host name. */
  identity?: string;
  /** Renew every this many ms. Default 10 s. */
  intervalMs?: number;
  /** Source of the renewal jitter (see renewalDelay). Default Math.random. */
  random?: () => number;
  /** How long the lease counts as alive after a renewal. Default 40 s (kubelet's node lease). */
  leaseDurationSeconds?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface Heartbeat {
  /** Renew now (also done every interval). Rejects on failure. */
  beat(): Promise<void>;
  /** Time of the last successful renewal, or undefined. */
  lastSuccess(): number | undefined;
  /** Stop renewing; the lease expires on its own (a stopped agent turns its Host Ready=False). */
  stop(): Promise<void>;
}

export function startHeartbeat(opts: HeartbeatOptions): Heartbeat {
  const rc = opts.client.resource<LeaseObject>(LEASES);
  const clock = opts.clock ?? realClock;
  const ns = opts.namespace ?? PROVIDER_NAMESPACE;
  const interval = opts.intervalMs ?? 10_000;
  const random = opts.random ?? Math.random;
  const duration = opts.leaseDurationSeconds ?? 40;
  const identity = opts.identity ?? opts.hostName;
  const log = (opts.logger ?? silentLogger).child({ heartbeat: opts.hostName });
  let last: number | undefined;
  let exists = false;
  let stopped = false;
  let timer: TimerHandle | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const renew = async (): Promise<void> => {
    const now = microTime(clock.now());
    const spec = { holderIdentity: identity, leaseDurationSeconds: duration, renewTime: now };
    const ref = { namespace: ns, name: opts.hostName };
    if (exists) {
      try {
        await rc.patch(ref, { spec }, 'merge');
        last = clock.now();
        return;
      } catch (err) {
        if (toApiError(err).code !== 404) throw err;
        exists = false;
      }
    }
    try {
      await rc.create({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: opts.hostName, namespace: ns },
        spec: { ...spec, acquireTime: now },
      });
    } catch (err) {
      if (toApiError(err).code !== 409) throw err;
      await rc.patch(ref, { spec }, 'merge'); // it existed after all (agent restart)
    }
    exists = true;
    last = clock.now();
  };

  const beat = (): Promise<void> => {
    inFlight = inFlight.catch(() => undefined).then(renew);
    return inFlight;
  };

  const tick = () => {
    if (stopped) return;
    beat()
      .catch((err) => {
        const e = toApiError(err);
        log.warn({ code: e.code, err: e.message }, 'heartbeat renewal failed');
      })
      .finally(() => {
        if (!stopped) timer = clock.setTimeout(tick, renewalDelay(interval, random));
      });
  };
  tick();

  return {
    beat,
    lastSuccess: () => last,
    async stop() {
      stopped = true;
      if (timer) clock.clearTimeout(timer);
      await inFlight.catch(() => undefined);
    },
  };
}
