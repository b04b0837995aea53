// The one pino logger; controllers and servers take child loggers from it.
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(opts: { level?: string; name?: string; destination?: number | string } = {}): Logger {
  const level = opts.level ?? process.env.VMSAFE_LOG_LEVEL ?? 'info';
  const dest = pino.destination({ dest: opts.destination ?? 2, sync: false });
  return pino({ level, name: opts.name ?? 'vmsafe', base: undefined }, dest);
}

/** A logger that discards everything (tests, benchmarks). */
export const silentLogger: Logger = pino({ level: 'silent' });
