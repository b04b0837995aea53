// The process logger's level comes from a flag or $VMSAFE_LOG_LEVEL: only pino's own levels are levels.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/util/log';

describe('createLogger', () => {
  it('takes pino levels and refuses others, names of Object members included (pino took those)', () => {
    for (const level of ['trace', 'info', 'fatal', 'silent']) expect(createLogger({ level, destination: '/dev/null' }).level).toBe(level);
    for (const level of ['nope', 'constructor', 'toString', '__proto__', 'hasOwnProperty'])
      expect(() => createLogger({ level, destination: '/dev/null' }), level).toThrow(`default level:${level} must be included in custom levels`);
  });
});
