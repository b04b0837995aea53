// Plain scalars as kubectl's YAML 1.1 reads them, shared by the fast readers (fast-yaml's js-yaml
// schema and block-yaml): the same rules `yaml`'s 1.1 schema applies in load.ts's full parser.
// Plain-scalar resolution of yaml's 1.1 schema (nullTag, bool, int bin/oct/dec/hex, float NaN/exp/dec),
// minus base-60 numbers and timestamps as load.ts's YAML_OPTIONS drops them. Same regexes, same order.
const intOf = (str: string, offset: number, radix: number) => {
  const sign = str[0];
  if (sign === '-' || sign === '+') offset += 1;
  const n = parseInt(str.substring(offset).replace(/_/g, ''), radix);
  return sign === '-' ? -1 * n : n;
};
export const SCALARS: { test: RegExp; tag: string; construct: (s: string) => unknown }[] = [
  { tag: 'null', test: /^(?:~|[Nn]ull|NULL)?$/, construct: () => null },
  { tag: 'true', test: /^(?:Y|y|[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/, construct: () => true },
  { tag: 'false', test: /^(?:N|n|[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/, construct: () => false },
  { tag: 'bin', test: /^[-+]?0b[0-1_]+$/, construct: (s) => intOf(s, 2, 2) },
  { tag: 'oct', test: /^[-+]?0[0-7_]+$/, construct: (s) => intOf(s, 1, 8) },
  { tag: 'int', test: /^[-+]?[0-9][0-9_]*$/, construct: (s) => intOf(s, 0, 10) },
  { tag: 'hex', test: /^[-+]?0x[0-9a-fA-F_]+$/, construct: (s) => intOf(s, 2, 16) },
  {
    tag: 'nan',
    test: /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
    construct: (s) => (s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY),
  },
  // yaml's EXP minus a bare `e5` (no digit before the exponent), as load.ts's YAML_OPTIONS has it.
  { tag: 'exp', test: /^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$/, construct: (s) => parseFloat(s.replace(/_/g, '')) },
  { tag: 'float', test: /^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*$/, construct: (s) => parseFloat(s.replace(/_/g, '')) },
];

// The first type whose test matches wins in yaml. js-yaml asks each implicit type in turn, so each
// asks `classify` (which remembers the string it was last given) whether it is the first match.
const MAYBE_SPECIAL = /^[-+.0-9~nNyYtTfFoO]/;
// All the tests in one: most values (names, addresses) are plain strings, settled by one match.
const ANY_SPECIAL = new RegExp(SCALARS.map((s) => `(?:${s.test.source})`).join('|'));
let lastString: string | undefined;
let lastClass = -1;
export function classify(str: string): number {
  if (str === lastString) return lastClass;
  lastString = str;
  lastClass = -1;
  if (str === '') lastClass = 0;
  else if (MAYBE_SPECIAL.test(str) && ANY_SPECIAL.test(str)) lastClass = SCALARS.findIndex((s) => s.test.test(str));
  return lastClass;
}

/** A plain scalar's value as this schema resolves it (a string unless it reads as null, bool or number). */
export function resolvePlain(text: string): unknown {
  const c = classify(text);
  return c < 0 ? text : SCALARS[c]!.construct(text);
}
