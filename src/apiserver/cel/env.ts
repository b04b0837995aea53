// The CEL environment the server evaluates expressions in (CRD validation rules; admission policies
// may reuse it): @bufbuild/cel with the strings extension, expressions parsed once and planned once.
// Matching (`matches`) runs on @bufbuild/re2, so it is linear in the input like kube-apiserver's RE2.
import { celEnv, isCelError, parse, plan } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';

const ENV = celEnv({ funcs: strings });

/** Longest expression accepted, as kube-apiserver bounds rule source. */
export const MAX_EXPRESSION_LENGTH = 10_240;

export interface CompiledExpression {
  source: string;
  /** Evaluates with the given variables; a CEL error comes back as `{ error }`, never as a throw. */
  evaluate(vars: Record<string, unknown>): { value: unknown } | { error: string };
  /** Deepest nesting of comprehensions (all/exists/map/filter...): the exponent of the cost bound. */
  comprehensionDepth: number;
  /** Names of variables the expression reads (e.g. oldSelf marks a transition rule). */
  identifiers: Set<string>;
}

/** Parses and plans an expression; a syntax error is returned as a message, not thrown. */
export function compileExpression(source: string): CompiledExpression | { error: string } {
  if (source.length > MAX_EXPRESSION_LENGTH) return { error: `expression is longer than ${MAX_EXPRESSION_LENGTH} characters` };
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
  const { depth, identifiers } = scan(parsed.expr);
  const program = plan(ENV, parsed) as (vars: Record<string, unknown>) => unknown;
  return {
    source,
    comprehensionDepth: depth,
    identifiers,
    evaluate(vars) {
      try {
        const value = program(vars);
        return isCelError(value) ? { error: value.message } : { value };
      } catch (err) {
        return { error: err instanceof Error ? err.message : String(err) };
      }
    },
  };
}

/** Walks the parsed AST (protobuf Expr messages) for comprehension nesting and referenced identifiers. */
function scan(root: unknown): { depth: number; identifiers: Set<string> } {
  const identifiers = new Set<string>();
  const visit = (node: any): number => {
    if (!node || typeof node !== 'object') return 0;
    const kind = node.exprKind;
    if (!kind) return 0;
    const v = kind.value;
    switch (kind.case) {
      case 'identExpr':
        identifiers.add(v.name);
        return 0;
      case 'selectExpr':
        return visit(v.operand);
      case 'callExpr':
        return Math.max(visit(v.target), ...v.args.map(visit), 0);
      case 'listExpr':
        return Math.max(0, ...v.elements.map(visit));
      case 'structExpr':
        return Math.max(0, ...v.entries.map((e: any) => Math.max(visit(e.keyKind?.value), visit(e.value))));
      case 'comprehensionExpr': {
        const range = visit(v.iterRange);
        const inner = Math.max(visit(v.accuInit), visit(v.loopCondition), visit(v.loopStep), visit(v.result));
        return Math.max(range, inner + 1);
      }
      default:
        return 0;
    }
  };
  const depth = visit(root);
  return { depth, identifiers };
}
