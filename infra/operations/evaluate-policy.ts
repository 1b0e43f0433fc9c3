// A small IAM evaluator for reviewing our own policy documents in tests: identity policies, an
// optional permissions boundary, explicit deny wins, `*`/`?` wildcards in actions and resources,
// NotAction/NotResource, and the condition operators our documents use. Not a full IAM engine:
// no resource policies, SCPs, sessions or policy variables.

export type ContextValue = string | string[];

export interface Request {
  action: string;
  resource: string;
  /** Condition keys present in the request, e.g. { 'aws:RequestedRegion': 'eu-central-1' }. */
  context?: Record<string, ContextValue>;
}

export type Decision = 'allowed' | 'explicitly denied' | 'implicitly denied';

interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, ContextValue>>;
}

export interface PolicyDocument {
  Statement: PolicyStatement[];
}

const list = (v: ContextValue | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function wildcard(pattern: string, value: string, caseInsensitive: boolean): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, caseInsensitive ? 'i' : '').test(value);
}

const matchesAction = (patterns: string[], action: string) => patterns.some((p) => wildcard(p, action, true));
const matchesResource = (patterns: string[], resource: string) => patterns.some((p) => wildcard(p, resource, false));

/** One condition operator over a key: positive operators fail on a missing key, negated ones pass (as IAM does). */
function conditionHolds(operator: string, expected: string[], actual: string[] | undefined): boolean {
  const ifExists = operator.endsWith('IfExists');
  const op = ifExists ? operator.slice(0, -'IfExists'.length) : operator;
  if (op === 'Null') return (actual === undefined) === (expected[0] === 'true');
  if (actual === undefined) return ifExists || op.includes('Not');
  const any = (test: (e: string, a: string) => boolean) => actual.some((a) => expected.some((e) => test(e, a)));
  switch (op) {
    case 'StringEquals':
    case 'ArnEquals':
    case 'Bool':
      return any((e, a) => e === a);
    case 'StringNotEquals':
    case 'ArnNotEquals':
      return !any((e, a) => e === a);
    case 'StringLike':
    case 'ArnLike':
      return any((e, a) => wildcard(e, a, false));
    case 'StringNotLike':
    case 'ArnNotLike':
      return !any((e, a) => wildcard(e, a, false));
    default:
      throw new Error(`evaluator: condition operator ${operator} is not supported`);
  }
}

function statementApplies(s: PolicyStatement, request: Request): boolean {
  const action = s.Action
    ? matchesAction(list(s.Action), request.action)
    : !matchesAction(list(s.NotAction), request.action);
  if (!action) return false;
  const resource = s.Resource
    ? matchesResource(list(s.Resource), request.resource)
    : !matchesResource(list(s.NotResource), request.resource);
  if (!resource) return false;
  return Object.entries(s.Condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, expected]) => {
      const present = request.context?.[key];
      return conditionHolds(operator, list(expected), present === undefined ? undefined : list(present));
    }),
  );
}

function decide(policies: PolicyDocument[], request: Request): { decision: Decision; by?: string } {
  const applying = policies.flatMap((p) => p.Statement).filter((s) => statementApplies(s, request));
  const deny = applying.find((s) => s.Effect === 'Deny');
  if (deny) return { decision: 'explicitly denied', by: deny.Sid };
  const allow = applying.find((s) => s.Effect === 'Allow');
  return allow ? { decision: 'allowed', by: allow.Sid } : { decision: 'implicitly denied' };
}

/** Identity policies, then (when given) the boundary: both must allow, any explicit deny wins. */
export function evaluate(
  request: Request,
  identity: PolicyDocument[],
  boundary?: PolicyDocument,
): { decision: Decision; by?: string } {
  const fromIdentity = decide(identity, request);
  if (fromIdentity.decision !== 'allowed' || !boundary) return fromIdentity;
  const fromBoundary = decide([boundary], request);
  return fromBoundary.decision === 'allowed' ? fromIdentity : fromBoundary;
}
