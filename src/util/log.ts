// The one pino logger; controllers and servers take child loggers from it.
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(opts: { level?: string; name?: string; destination?: number | string } = {}): Logger {
  const level = opts.level ?? process.env.VMSAFE_LOG_LEVEL ?? 'info';
  // pino looks a level up in a plain object: `constructor` or `toString` (a flag, an env value) passed
  // as a level and left a logger with a function for its level. Refused as pino refuses `nope`.
  if (!Object.hasOwn(pino.levels.values, level)) throw new Error(`default level:${level} must be included in custom levels`);
  const dest = pino.destination({ dest: opts.destination ?? 2, sync: false });
  return pino({ level, name: opts.name ?? 'vmsafe', base: undefined }, dest);
}

/** A logger that discards everything (tests, benchmarks). */
export const silentLogger: Logger = pino({ level: 'silent' });
