// Small helpers shared by the CLI verbs.
import { createLogger, type Logger } from '../util/log';

export function num(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got "${value}"`);
  return n;
}

export class UsageError extends Error {}

export function cliLogger(level: string | undefined, name: string): Logger {
  return createLogger({ level: level ?? process.env.VMSAFE_LOG_LEVEL ?? 'info', name });
}

/** How long a clean shutdown may take (e.g. releasing a Lease) before the process just exits. */
const STOP_GRACE_MS = 5_000;

/**
 * Resolve when SIGINT or SIGTERM arrives, running `stop` first. A clean stop talks to the API server
 * (releasing the leader Lease): if it is gone, do not hang — exit after a grace period, or at once on
 * a second signal.
 */
export function untilSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise((done) => {
    const force = () => process.exit(130);
    const handler = () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      setTimeout(force, STOP_GRACE_MS).unref();
      void stop().finally(() => {
        done();
        // Stopped cleanly: leave once main() has set the exit code, even if a stray handle lingers.
        setTimeout(() => process.exit(), 200).unref();
      });
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
