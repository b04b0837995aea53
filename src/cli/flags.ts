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

/** Resolve when SIGINT or SIGTERM arrives (once), running `stop` first. */
export function untilSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise((done) => {
    const handler = () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      void stop().finally(done);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
