/**
 * SNS subscription filter policies with `FilterPolicyScope: MessageAttributes`, evaluated the way SNS
 * documents them (docs.aws.amazon.com/sns/latest/dg: "Filter policy constraints", "String value
 * matching", "Numeric value matching", "Key matching", "AND/OR logic"), so the local topic delivers
 * exactly what the real topic would.
 *
 * - Keys are ANDed; the rules in a key's array are ORed; `"$or": [{...}, {...}]` ORs whole sub-policies.
 * - A `String.Array` attribute matches when any of its elements matches a rule.
 * - Strings match string rules only, numbers match numeric rules and exact numbers only.
 * - A missing attribute matches nothing but `{"exists": false}`; `Binary` attributes are ignored.
 */

/** The `MessageAttributes` shape SNS `Publish` takes. A String.Array's value is a JSON array: '["russia","syria"]'. */
export type MessageAttributes = Record<
  string,
  { DataType: 'String' | 'String.Array' | 'Number' | 'Binary'; StringValue?: string }
>;

/** A rule that matches a value equal to it (strings case-sensitively, numbers numerically). */
export type ExactRule = string | number | boolean | null;
export type NumericOperator = '=' | '<' | '<=' | '>' | '>=';
/** `["=", 5]`, `["<", 0]`, or a range `[">", 0, "<=", 150]`. */
export type NumericCondition =
  | readonly [NumericOperator, number]
  | readonly ['>' | '>=', number, '<' | '<=', number];
export type AnythingBut = string | number | readonly (string | number)[] | { readonly prefix: string };
export type OperatorRule =
  | { readonly prefix: string }
  | { readonly suffix: string }
  | { readonly 'equals-ignore-case': string }
  | { readonly 'anything-but': AnythingBut }
  | { readonly numeric: NumericCondition }
  | { readonly exists: boolean };
export type Rule = ExactRule | OperatorRule;

/**
 * A policy that passed `validateFilterPolicy`: attribute name → rules, and possibly `"$or"` → sub-policies.
 * Build it with `validateFilterPolicy`; `matchesFilterPolicy` assumes the shape was checked.
 */
export interface FilterPolicy {
  readonly [key: string]: readonly Rule[] | readonly FilterPolicy[];
}

export interface FilterPolicyIssue {
  /** Where in the policy: `(root)`, `changeType`, `changeType[0]`, `tags[1].prefix`, `$or[1].price[0].numeric[0]`. */
  path: string;
  /** The SNS rule that was broken, in words. */
  rule: string;
}

export type FilterPolicyValidation =
  | { ok: true; policy: FilterPolicy }
  | { ok: false; issues: FilterPolicyIssue[] };

/** SNS's documented limits ("Filter policy constraints"). */
export const FILTER_POLICY_LIMITS = {
  /** Attribute names in one policy. */
  maxKeys: 5,
  /** The product of the rule arrays' lengths, summed over `$or` alternatives. */
  maxCombinations: 150,
  minNumber: -1_000_000_000,
  maxNumber: 1_000_000_000,
  decimalPlaces: 5,
} as const;

/** Path of the policy itself in issues. */
export const ROOT_PATH = '(root)';

const OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'anything-but', 'numeric', 'exists'] as const;
/**
 * Keywords SNS reserves in match expressions. `cidr` is a valid SNS operator that the local topic
 * does not evaluate, so it is rejected rather than silently mismatched.
 */
const RESERVED = new Set<string>([...OPERATORS, 'cidr', 'wildcard']);
const NUMERIC_OPERATORS = new Set<string>(['=', '<', '<=', '>', '>=']);

type Json = unknown;
type JsonObject = { readonly [key: string]: Json };

const isObject = (v: Json): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The alternatives of an `"$or"` key, or undefined when SNS would read the key as a plain attribute
 * name: it is only an OR when it holds an array of at least two objects, none of whose field names
 * is a reserved keyword ("OR operator" in the AND/OR logic page).
 */
const orAlternatives = (key: string, value: Json): readonly JsonObject[] | undefined => {
  if (key !== '$or' || !Array.isArray(value) || value.length < 2) return undefined;
  const alternatives: JsonObject[] = [];
  for (const item of value as readonly Json[]) {
    if (!isObject(item) || Object.keys(item).some((k) => RESERVED.has(k))) return undefined;
    alternatives.push(item);
  }
  return alternatives;
};

const childPath = (prefix: string, key: string): string => (prefix === '' ? key : `${prefix}.${key}`);

// --- validation -------------------------------------------------------------------------------------

const checkNumber = (n: number, path: string, issues: FilterPolicyIssue[]): void => {
  const { minNumber, maxNumber, decimalPlaces } = FILTER_POLICY_LIMITS;
  if (!Number.isFinite(n)) {
    issues.push({ path, rule: 'numbers must be finite' });
  } else if (n < minNumber || n > maxNumber) {
    issues.push({ path, rule: `${n} is outside SNS's numeric range of ${minNumber} to ${maxNumber}` });
  } else {
    const scale = 10 ** decimalPlaces;
    if (Math.round(n * scale) / scale !== n) {
      issues.push({
        path,
        rule: `${n} has more than ${decimalPlaces} decimal places, SNS's numeric precision`,
      });
    }
  }
};

const checkNumeric = (value: Json, path: string, issues: FilterPolicyIssue[]): void => {
  if (!Array.isArray(value) || (value.length !== 2 && value.length !== 4)) {
    issues.push({
      path,
      rule: 'numeric must be an array holding one comparison, ["=", 5], or a range, [">", 0, "<=", 10]',
    });
    return;
  }
  const terms = value as readonly Json[];
  const [op, operand] = [terms[0], terms[1]];
  if (typeof op !== 'string' || !NUMERIC_OPERATORS.has(op)) {
    issues.push({
      path: `${path}[0]`,
      rule: `unrecognized numeric operator ${JSON.stringify(op)}; expected one of =, <, <=, >, >=`,
    });
  } else if (terms.length === 4 && op !== '>' && op !== '>=') {
    issues.push({ path: `${path}[0]`, rule: `a numeric range must start with ">" or ">=", not "${op}"` });
  }
  if (typeof operand !== 'number') {
    issues.push({
      path: `${path}[1]`,
      rule: `numeric operand must be a number, not ${JSON.stringify(operand)}`,
    });
  } else {
    checkNumber(operand, `${path}[1]`, issues);
  }
  if (terms.length === 2) return;

  const [upperOp, upper] = [terms[2], terms[3]];
  if (upperOp !== '<' && upperOp !== '<=') {
    issues.push({
      path: `${path}[2]`,
      rule: `a numeric range must end with "<" or "<=", not ${JSON.stringify(upperOp)}`,
    });
  }
  if (typeof upper !== 'number') {
    issues.push({
      path: `${path}[3]`,
      rule: `numeric operand must be a number, not ${JSON.stringify(upper)}`,
    });
  } else {
    checkNumber(upper, `${path}[3]`, issues);
    if (typeof operand === 'number' && !(operand < upper)) {
      issues.push({ path, rule: `numeric range bottom ${operand} must be less than its top ${upper}` });
    }
  }
};

const checkAnythingBut = (value: Json, path: string, issues: FilterPolicyIssue[]): void => {
  if (typeof value === 'string') return;
  if (typeof value === 'number') {
    checkNumber(value, path, issues);
    return;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) issues.push({ path, rule: 'anything-but must list at least one value' });
    (value as readonly Json[]).forEach((v, i) => {
      if (typeof v === 'number') checkNumber(v, `${path}[${i}]`, issues);
      else if (typeof v !== 'string') {
        issues.push({ path: `${path}[${i}]`, rule: 'anything-but values must be strings or numbers' });
      }
    });
    return;
  }
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'prefix') {
      if (typeof value.prefix !== 'string') {
        issues.push({ path: `${path}.prefix`, rule: 'prefix must be a string' });
      }
      return;
    }
    issues.push({
      path,
      rule: `anything-but takes only a nested prefix, {"anything-but": {"prefix": "..."}}; found ${JSON.stringify(keys)}`,
    });
    return;
  }
  issues.push({
    path,
    rule: 'anything-but takes a string, a number, an array of them, or {"prefix": "..."}',
  });
};

const checkOperator = (rule: JsonObject, path: string, issues: FilterPolicyIssue[]): void => {
  const keys = Object.keys(rule);
  const [op] = keys;
  if (op === undefined || keys.length !== 1) {
    issues.push({
      path,
      rule: `a match expression must have exactly one operator, found ${keys.length} (${keys.join(', ')})`,
    });
    return;
  }
  const value = rule[op];
  const at = `${path}.${op}`;
  switch (op) {
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
      if (typeof value !== 'string') issues.push({ path: at, rule: `${op} must be a string` });
      return;
    case 'exists':
      if (typeof value !== 'boolean') issues.push({ path: at, rule: 'exists must be true or false' });
      return;
    case 'anything-but':
      checkAnythingBut(value, at, issues);
      return;
    case 'numeric':
      checkNumeric(value, at, issues);
      return;
    case 'cidr':
      issues.push({ path: at, rule: 'cidr (IP address) matching is not supported by the local topic' });
      return;
    default:
      issues.push({
        path,
        rule: `unrecognized operator ${JSON.stringify(op)}; expected one of ${OPERATORS.join(', ')}`,
      });
  }
};

const checkRule = (rule: Json, path: string, issues: FilterPolicyIssue[]): void => {
  if (rule === null || typeof rule === 'string' || typeof rule === 'boolean') return;
  if (typeof rule === 'number') checkNumber(rule, path, issues);
  else if (isObject(rule)) checkOperator(rule, path, issues);
  else
    issues.push({
      path,
      rule: 'a rule must be a string, number, true, false, null or a match expression object',
    });
};

const checkPolicyObject = (policy: JsonObject, prefix: string, issues: FilterPolicyIssue[]): void => {
  for (const [key, value] of Object.entries(policy)) {
    const path = childPath(prefix, key);
    const alternatives = orAlternatives(key, value);
    if (alternatives) {
      alternatives.forEach((alternative, i) => {
        if (Object.keys(alternative).length === 0) {
          issues.push({ path: `${path}[${i}]`, rule: 'an $or alternative must name at least one attribute' });
        }
        checkPolicyObject(alternative, `${path}[${i}]`, issues);
      });
    } else if (Array.isArray(value)) {
      if (value.length === 0) issues.push({ path, rule: 'a rule array must not be empty' });
      const before = issues.length;
      (value as readonly Json[]).forEach((rule, i) => {
        checkRule(rule, `${path}[${i}]`, issues);
      });
      if (key === '$or' && issues.length > before) {
        issues.push({
          path,
          rule: '"$or" is an OR only when it holds at least 2 objects whose keys are attribute names; otherwise SNS reads it as an attribute name',
        });
      }
    } else if (isObject(value)) {
      issues.push({
        path,
        rule: 'nested objects are not allowed: a MessageAttributes-scoped policy maps each attribute name to an array of rules',
      });
    } else {
      issues.push({ path, rule: 'an attribute name must map to an array of rules' });
    }
  }
};

/** Every attribute name the policy tests, inside `$or` alternatives too. */
const attributeNames = (policy: JsonObject, into: Set<string> = new Set()): Set<string> => {
  for (const [key, value] of Object.entries(policy)) {
    const alternatives = orAlternatives(key, value);
    if (alternatives) for (const alternative of alternatives) attributeNames(alternative, into);
    else into.add(key);
  }
  return into;
};

/**
 * SNS's "total combination of values": the product of the rule arrays' lengths. An `$or` contributes
 * the sum of its alternatives' combinations, which is the product summed over every expanded branch.
 */
export const filterPolicyCombinations = (policy: Readonly<Record<string, unknown>>): number => {
  let combinations = 1;
  for (const [key, value] of Object.entries(policy)) {
    const alternatives = orAlternatives(key, value);
    if (alternatives) combinations *= alternatives.reduce((sum, a) => sum + filterPolicyCombinations(a), 0);
    else if (Array.isArray(value)) combinations *= Math.max(value.length, 1);
  }
  return combinations;
};

/**
 * Checks a parsed filter policy against SNS's documented constraints for MessageAttributes scope.
 * Reports every problem found, each with its path and the rule it breaks.
 */
export const validateFilterPolicy = (policy: unknown): FilterPolicyValidation => {
  if (!isObject(policy)) {
    return { ok: false, issues: [{ path: ROOT_PATH, rule: 'a filter policy must be a JSON object' }] };
  }
  const issues: FilterPolicyIssue[] = [];
  const names = attributeNames(policy);
  if (names.size > FILTER_POLICY_LIMITS.maxKeys) {
    issues.push({
      path: ROOT_PATH,
      rule: `a filter policy can have at most ${FILTER_POLICY_LIMITS.maxKeys} attribute names, found ${names.size}`,
    });
  }
  const combinations = filterPolicyCombinations(policy);
  if (combinations > FILTER_POLICY_LIMITS.maxCombinations) {
    issues.push({
      path: ROOT_PATH,
      rule: `the total combination of values must not exceed ${FILTER_POLICY_LIMITS.maxCombinations}, found ${combinations}`,
    });
  }
  checkPolicyObject(policy, '', issues);
  return issues.length === 0 ? { ok: true, policy: policy as FilterPolicy } : { ok: false, issues };
};

/** `changeType[0]: a rule array must not be empty; ...`, for error messages and logs. */
export const describeFilterPolicyIssues = (issues: readonly FilterPolicyIssue[]): string =>
  issues.map((i) => `${i.path}: ${i.rule}`).join('; ');

// --- matching ---------------------------------------------------------------------------------------

/** A value taken from an attribute, typed as SNS's JSON view of it: String → string, Number → number. */
type Value = string | number | boolean | null;

type AttributeState =
  /** Not sent, or Binary (which SNS ignores), or an empty String.Array. */
  | { kind: 'absent' }
  /** Present but unusable (empty value, bad number, bad JSON): SNS would refuse it at Publish; matches nothing. */
  | { kind: 'malformed' }
  | { kind: 'values'; values: readonly Value[] };

const ABSENT: AttributeState = { kind: 'absent' };
const MALFORMED: AttributeState = { kind: 'malformed' };
const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

const readAttribute = (attribute: MessageAttributes[string] | undefined): AttributeState => {
  if (attribute === undefined || attribute.DataType === 'Binary') return ABSENT;
  const text = attribute.StringValue;
  if (text === undefined || text === '') return MALFORMED;
  switch (attribute.DataType) {
    case 'String':
      return { kind: 'values', values: [text] };
    case 'Number': {
      const trimmed = text.trim();
      return NUMBER_TEXT.test(trimmed) ? { kind: 'values', values: [Number(trimmed)] } : MALFORMED;
    }
    case 'String.Array': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return MALFORMED;
      }
      if (!Array.isArray(parsed)) return MALFORMED;
      if (parsed.length === 0) return ABSENT;
      const values = (parsed as readonly unknown[]).filter(
        (v): v is Value => v === null || ['string', 'number', 'boolean'].includes(typeof v),
      );
      return values.length > 0 ? { kind: 'values', values } : MALFORMED;
    }
    default:
      return MALFORMED;
  }
};

const numericHolds = (condition: readonly unknown[], n: number): boolean => {
  for (let i = 0; i + 1 < condition.length; i += 2) {
    const op = condition[i];
    const operand = condition[i + 1];
    if (typeof operand !== 'number') return false;
    const holds =
      op === '='
        ? n === operand
        : op === '<'
          ? n < operand
          : op === '<='
            ? n <= operand
            : op === '>'
              ? n > operand
              : op === '>='
                ? n >= operand
                : false;
    if (!holds) return false;
  }
  return true;
};

/** Whether a value is one an `anything-but` excludes. */
const isExcluded = (excluded: unknown, value: Value): boolean => {
  if (Array.isArray(excluded)) return (excluded as readonly unknown[]).some((x) => x === value);
  if (isObject(excluded)) {
    return (
      typeof excluded.prefix === 'string' && typeof value === 'string' && value.startsWith(excluded.prefix)
    );
  }
  return excluded === value;
};

/** One rule against one value. Strings and numbers never match each other's rules. */
const ruleMatchesValue = (rule: Rule, value: Value): boolean => {
  if (!isObject(rule)) return rule === value;
  const [op] = Object.keys(rule);
  const operand: unknown = op === undefined ? undefined : (rule as JsonObject)[op];
  switch (op) {
    case 'prefix':
      return typeof value === 'string' && typeof operand === 'string' && value.startsWith(operand);
    case 'suffix':
      return typeof value === 'string' && typeof operand === 'string' && value.endsWith(operand);
    case 'equals-ignore-case':
      return (
        typeof value === 'string' &&
        typeof operand === 'string' &&
        value.toLowerCase() === operand.toLowerCase()
      );
    case 'numeric':
      return typeof value === 'number' && Array.isArray(operand) && numericHolds(operand, value);
    case 'anything-but':
      return !isExcluded(operand, value);
    default:
      return false;
  }
};

const ruleMatchesAttribute = (rule: Rule, state: AttributeState, anyAttribute: boolean): boolean => {
  if (isObject(rule) && 'exists' in rule) {
    // `"exists": false` needs at least one attribute: an empty set of attributes matches nothing.
    return rule.exists === true ? state.kind === 'values' : state.kind === 'absent' && anyAttribute;
  }
  // A String.Array matches when any element does, anything-but included: ["rugby", "baseball"]
  // passes {"anything-but": ["rugby", "tennis"]} because "baseball" is not excluded (the SNS docs' example).
  return state.kind === 'values' && state.values.some((value) => ruleMatchesValue(rule, value));
};

const policyMatches = (
  policy: FilterPolicy,
  read: (name: string) => AttributeState,
  anyAttribute: boolean,
): boolean =>
  Object.entries(policy).every(([key, value]) => {
    const alternatives = orAlternatives(key, value);
    if (alternatives) {
      return alternatives.some((alternative) =>
        policyMatches(alternative as FilterPolicy, read, anyAttribute),
      );
    }
    if (!Array.isArray(value)) return false;
    const state = read(key);
    return (value as readonly Rule[]).some((rule) => ruleMatchesAttribute(rule, state, anyAttribute));
  });

/**
 * Whether SNS would deliver a message with these attributes to a subscription with this policy
 * (FilterPolicyScope MessageAttributes). The policy should come from `validateFilterPolicy`.
 */
export const matchesFilterPolicy = (policy: FilterPolicy, attributes: MessageAttributes): boolean => {
  const states = new Map<string, AttributeState>();
  const read = (name: string): AttributeState => {
    let state = states.get(name);
    if (state === undefined) {
      state = Object.hasOwn(attributes, name) ? readAttribute(attributes[name]) : ABSENT;
      states.set(name, state);
    }
    return state;
  };
  const anyAttribute = Object.keys(attributes).some((name) => read(name).kind !== 'absent');
  return policyMatches(policy, read, anyAttribute);
};
