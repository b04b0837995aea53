// --token-auth-file parsing: kube's CSV format, and one-line errors naming file and line.
import { describe, expect, it } from 'vitest';
import { parseTokenFile } from '../../../src/apiserver/auth/tokenfile';

describe('parseTokenFile', () => {
  it('reads users, uids and quoted group lists, skipping comments', () => {
    expect(parseTokenFile('# c\n\nt1,alice,u1,"a,b"\nt2,bob,,g\nt3,carol,u3\n')).toEqual([
      { token: 't1', username: 'alice', uid: 'u1', groups: ['a', 'b'] },
      { token: 't2', username: 'bob', uid: undefined, groups: ['g'] },
      { token: 't3', username: 'carol', uid: 'u3', groups: [] },
    ]);
  });
  it.each([
    ['t1,alice', 'f.csv:1: expected token,user,uid[,"group1,group2"]'],
    [',alice,u', 'f.csv:1: expected token,user,uid[,"group1,group2"]'],
    ['t1,alice,u1,"a', 'f.csv:1: unterminated quote'],
    ['t1,a,u\nt1,b,u', 'f.csv:2: duplicate token'],
  ])('%j -> %s', (text, msg) => {
    expect(() => parseTokenFile(text, 'f.csv')).toThrow(msg);
  });
});
