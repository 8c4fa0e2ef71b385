import { describe, expect, it } from 'vitest';
import {
  describeFilterPolicyIssues,
  type FilterPolicy,
  type FilterPolicyIssue,
  filterPolicyCombinations,
  type MessageAttributes,
  matchesFilterPolicy,
  ROOT_PATH,
  validateFilterPolicy,
} from '../../../shared/domain/filter-policy.js';

// Cases follow the examples in the SNS developer guide (docs.aws.amazon.com/sns/latest/dg):
// "String value matching", "Numeric value matching", "Key matching", "AND/OR logic",
// "Example filter policies" and "Filter policy constraints".

type Attribute = MessageAttributes[string];

const str = (value: string): Attribute => ({ DataType: 'String', StringValue: value });
const arr = (...values: unknown[]): Attribute => ({
  DataType: 'String.Array',
  StringValue: JSON.stringify(values),
});
const num = (value: string): Attribute => ({ DataType: 'Number', StringValue: value });
const bin = (): Attribute => ({ DataType: 'Binary' });

/** A policy that must be valid: the matching tables only ever see validated policies. */
const policy = (raw: unknown): FilterPolicy => {
  const result = validateFilterPolicy(raw);
  if (!result.ok) throw new Error(`invalid test policy: ${describeFilterPolicyIssues(result.issues)}`);
  return result.policy;
};

/** The message in "Example filter policies". */
const EXAMPLE_MESSAGE: MessageAttributes = {
  customer_interests: arr('soccer', 'rugby', 'hockey'),
  store: str('example_corp'),
  event: str('order_placed'),
  price_usd: num('210.75'),
};

type MatchCase = [
  name: string,
  policy: Record<string, unknown>,
  attributes: MessageAttributes,
  expected: boolean,
];

const matchCases = (cases: MatchCase[]) =>
  it.each(cases)('%s', (_name, raw, attributes, expected) => {
    expect(matchesFilterPolicy(policy(raw), attributes)).toBe(expected);
  });

describe('exact string matching', () => {
  const P = { customer_interests: ['rugby', 'tennis'] };
  matchCases([
    ['String "rugby" matches', P, { customer_interests: str('rugby') }, true],
    ['String "tennis" matches', P, { customer_interests: str('tennis') }, true],
    ['String.Array ["rugby","tennis"] matches', P, { customer_interests: arr('rugby', 'tennis') }, true],
    ['String "baseball" does not match', P, { customer_interests: str('baseball') }, false],
    ['String.Array ["baseball"] does not match', P, { customer_interests: arr('baseball') }, false],
    ['comparison is case-sensitive: "Rugby" does not match', P, { customer_interests: str('Rugby') }, false],
    ['a missing attribute does not match', P, { store: str('example_corp') }, false],
  ]);
});

describe('String.Array attributes match when any element matches', () => {
  const P = { customer_interests: ['rugby', 'football', 'baseball'] };
  matchCases([
    [
      '["soccer","rugby","hockey"] matches on "rugby"',
      P,
      { customer_interests: arr('soccer', 'rugby', 'hockey') },
      true,
    ],
    ['["soccer","hockey"] has no listed element', P, { customer_interests: arr('soccer', 'hockey') }, false],
    ['an empty array matches no value rule', P, { customer_interests: arr() }, false],
    [
      'a prefix rule matches one element',
      { customer_interests: [{ prefix: 'bas' }] },
      { customer_interests: arr('rugby', 'basketball') },
      true,
    ],
    [
      'a numeric rule matches a number element',
      { scores: [{ numeric: ['>', 0] }] },
      { scores: arr('x', 5) },
      true,
    ],
    [
      'a numeric rule ignores number-like strings',
      { scores: [{ numeric: ['>', 0] }] },
      { scores: arr('5') },
      false,
    ],
  ]);
});

describe('anything-but matching', () => {
  const P = { customer_interests: [{ 'anything-but': ['rugby', 'tennis'] }] };
  matchCases([
    ['String "baseball" matches', P, { customer_interests: str('baseball') }, true],
    ['String "football" matches', P, { customer_interests: str('football') }, true],
    ['String "rugby" does not match', P, { customer_interests: str('rugby') }, false],
    [
      'String.Array ["rugby","baseball"] matches: "baseball" is not excluded (docs example)',
      P,
      { customer_interests: arr('rugby', 'baseball') },
      true,
    ],
    [
      'String.Array ["rugby","tennis"] does not match: every element is excluded',
      P,
      { customer_interests: arr('rugby', 'tennis') },
      false,
    ],
    ['a missing attribute does not match', P, { store: str('example_corp') }, false],
    [
      'a single value: "order_placed" is anything but "order_cancelled"',
      { event: [{ 'anything-but': 'order_cancelled' }] },
      { event: str('order_placed') },
      true,
    ],
    [
      'a single value: "order_cancelled" does not match',
      { event: [{ 'anything-but': 'order_cancelled' }] },
      { event: str('order_cancelled') },
      false,
    ],
    [
      'combined with exists false, a missing attribute matches',
      { customer_interests: [{ 'anything-but': ['rugby'] }, { exists: false }] },
      { store: str('example_corp') },
      true,
    ],
    [
      'combined with exists false, an excluded value still does not match',
      { customer_interests: [{ 'anything-but': ['rugby'] }, { exists: false }] },
      { customer_interests: str('rugby') },
      false,
    ],
  ]);
});

describe('anything-but with a prefix', () => {
  const P = { event: [{ 'anything-but': { prefix: 'order-' } }] };
  matchCases([
    ['"data-entry" matches', P, { event: str('data-entry') }, true],
    ['"order_number" matches', P, { event: str('order_number') }, true],
    ['"order-cancelled" does not match', P, { event: str('order-cancelled') }, false],
    [
      'a String.Array with a non-"order-" element matches',
      P,
      { event: arr('order-cancelled', 'refund') },
      true,
    ],
  ]);
});

describe('numeric anything-but', () => {
  const P = { price: [{ 'anything-but': [100, 500] }] };
  matchCases([
    ['101 matches', P, { price: num('101') }, true],
    ['100.1 matches', P, { price: num('100.1') }, true],
    ['100 does not match', P, { price: num('100') }, false],
    ['1e2 is 100 and does not match', P, { price: num('1e2') }, false],
    ['an array [100, 50] matches: 50 is not excluded', P, { price: arr(100, 50) }, true],
    ['an array [100, 500] does not match', P, { price: arr(100, 500) }, false],
  ]);
});

describe('numeric exact and range matching', () => {
  const EQ = { price_usd: [{ numeric: ['=', 301.5] }] };
  const POSITIVE_TO_150 = { price_usd: [{ numeric: ['>', 0, '<=', 150] }] };
  matchCases([
    ['= 301.5 matches 301.5', EQ, { price_usd: num('301.5') }, true],
    ['= 301.5 matches 3.015e2', EQ, { price_usd: num('3.015e2') }, true],
    ['= 301.5 does not match 301.6', EQ, { price_usd: num('301.6') }, false],
    [
      'an exact number rule compares numerically: 301.5 matches 3.015e2',
      { price_usd: [301.5] },
      { price_usd: num('3.015e2') },
      true,
    ],
    [
      '< 0 matches a negative number',
      { price_usd: [{ numeric: ['<', 0] }] },
      { price_usd: num('-0.5') },
      true,
    ],
    ['< 0 does not match 0', { price_usd: [{ numeric: ['<', 0] }] }, { price_usd: num('0') }, false],
    ['(0, 150] matches 75', POSITIVE_TO_150, { price_usd: num('75') }, true],
    ['(0, 150] matches 150 (inclusive top)', POSITIVE_TO_150, { price_usd: num('150') }, true],
    ['(0, 150] does not match 0 (exclusive bottom)', POSITIVE_TO_150, { price_usd: num('0') }, false],
    ['(0, 150] does not match 150.00001', POSITIVE_TO_150, { price_usd: num('150.00001') }, false],
    ['>= 100 matches 210.75', { price_usd: [{ numeric: ['>=', 100] }] }, { price_usd: num('210.75') }, true],
    [
      '>= 100 does not match 99.99',
      { price_usd: [{ numeric: ['>=', 100] }] },
      { price_usd: num('99.99') },
      false,
    ],
  ]);
});

describe('strings and numbers do not match each other', () => {
  matchCases([
    [
      'the string rule "210.75" does not match Number 210.75',
      { price_usd: ['210.75'] },
      { price_usd: num('210.75') },
      false,
    ],
    [
      'a numeric rule does not match String "210.75"',
      { price_usd: [{ numeric: ['>', 100] }] },
      { price_usd: str('210.75') },
      false,
    ],
    [
      'the number rule 100 does not match String "100"',
      { price_usd: [100] },
      { price_usd: str('100') },
      false,
    ],
    [
      'a prefix rule does not match a Number',
      { price_usd: [{ prefix: '2' }] },
      { price_usd: num('210.75') },
      false,
    ],
    [
      'a suffix rule does not match a Number',
      { price_usd: [{ suffix: '75' }] },
      { price_usd: num('210.75') },
      false,
    ],
  ]);
});

describe('key matching with exists', () => {
  const EXISTS = { store: [{ exists: true }] };
  const NOT_EXISTS = { store: [{ exists: false }] };
  const withStore = { store: str('fans'), customer_interests: arr('baseball', 'basketball') };
  const withoutStore = { customer_interests: arr('baseball', 'basketball') };
  matchCases([
    ['exists true matches when the attribute is sent', EXISTS, withStore, true],
    ['exists true does not match when it is not', EXISTS, withoutStore, false],
    ['exists false does not match when the attribute is sent', NOT_EXISTS, withStore, false],
    ['exists false matches when it is not', NOT_EXISTS, withoutStore, true],
    ['exists false does not match an empty set of attributes', NOT_EXISTS, {}, false],
    [
      'exists true matches a Number attribute',
      { price_usd: [{ exists: true }] },
      { price_usd: num('0') },
      true,
    ],
    [
      'an empty String.Array counts as absent',
      { tags: [{ exists: false }] },
      { changeType: str('created'), tags: arr() },
      true,
    ],
  ]);
});

describe('prefix, suffix and equals-ignore-case', () => {
  const PREFIX = { customer_interests: [{ prefix: 'bas' }] };
  const SUFFIX = { customer_interests: [{ suffix: 'ball' }] };
  const IGNORE_CASE = { customer_interests: [{ 'equals-ignore-case': 'tennis' }] };
  matchCases([
    ['prefix "bas" matches "baseball"', PREFIX, { customer_interests: str('baseball') }, true],
    ['prefix "bas" matches "basketball"', PREFIX, { customer_interests: str('basketball') }, true],
    ['prefix "bas" does not match "rugby"', PREFIX, { customer_interests: str('rugby') }, false],
    ['prefix is case-sensitive', PREFIX, { customer_interests: str('Baseball') }, false],
    ['suffix "ball" matches "baseball"', SUFFIX, { customer_interests: str('baseball') }, true],
    ['suffix "ball" does not match "rugby"', SUFFIX, { customer_interests: str('rugby') }, false],
    ['equals-ignore-case matches "TeNnIs"', IGNORE_CASE, { customer_interests: str('TeNnIs') }, true],
    [
      'equals-ignore-case does not match "tennis-court"',
      IGNORE_CASE,
      { customer_interests: str('tennis-court') },
      false,
    ],
  ]);
});

describe('true, false and null rules', () => {
  const ENCRYPTED = { encrypted: [false] };
  matchCases([
    ['false does not match a missing attribute', ENCRYPTED, EXAMPLE_MESSAGE, false],
    ['false matches a false element of a String.Array', ENCRYPTED, { encrypted: arr(false) }, true],
    ['false does not match the String "false"', ENCRYPTED, { encrypted: str('false') }, false],
    ['null matches a null element of a String.Array', { region: [null] }, { region: arr('eu', null) }, true],
  ]);
});

describe('AND across keys, OR within a key', () => {
  const RUGBY_OVER_100 = { customer_interests: ['rugby'], price_usd: [{ numeric: ['>', 100] }] };
  matchCases([
    [
      'the docs policy that accepts the example message',
      {
        store: ['example_corp'],
        event: [{ 'anything-but': 'order_cancelled' }],
        customer_interests: ['rugby', 'football', 'baseball'],
        price_usd: [{ numeric: ['>=', 100] }],
      },
      EXAMPLE_MESSAGE,
      true,
    ],
    [
      'the docs policy that rejects the example message',
      {
        store: ['example_corp'],
        event: ['order_cancelled'],
        encrypted: [false],
        customer_interests: ['basketball', 'baseball'],
      },
      EXAMPLE_MESSAGE,
      false,
    ],
    [
      'rugby and over 100 matches rugby at 210.75',
      RUGBY_OVER_100,
      { customer_interests: str('rugby'), price_usd: num('210.75') },
      true,
    ],
    [
      'rugby and over 100 does not match rugby at 50',
      RUGBY_OVER_100,
      { customer_interests: str('rugby'), price_usd: num('50') },
      false,
    ],
    [
      'rugby and over 100 does not match without a price',
      RUGBY_OVER_100,
      { customer_interests: str('rugby') },
      false,
    ],
    [
      'any rule in a key array may match',
      { customer_interests: ['tennis', { prefix: 'rug' }] },
      { customer_interests: str('rugby') },
      true,
    ],
    ['attributes the policy does not name are ignored', { store: ['example_corp'] }, EXAMPLE_MESSAGE, true],
    ['an empty policy accepts every message', {}, EXAMPLE_MESSAGE, true],
  ]);
});

describe('the $or operator', () => {
  const P = {
    source: ['aws.cloudwatch'],
    $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }],
  };
  const NESTED = {
    source: ['aws.cloudwatch'],
    $or: [
      { metricName: ['CPUUtilization', 'ReadLatency'] },
      { metricType: ['MetricType'], $or: [{ metricId: [1234, 4321] }, { spaceId: [1000, 2000, 3000] }] },
    ],
  };
  const source = str('aws.cloudwatch');
  matchCases([
    ['source and metricName matches', P, { source, metricName: str('CPUUtilization') }, true],
    ['source and namespace matches', P, { source, namespace: str('AWS/EC2') }, true],
    ['source alone matches neither alternative', P, { source }, false],
    [
      'both alternatives without source fail the AND',
      P,
      { metricName: str('CPUUtilization'), namespace: str('AWS/EC2') },
      false,
    ],
    ['nested: source and metricName matches', NESTED, { source, metricName: str('ReadLatency') }, true],
    [
      'nested: source, metricType and spaceId matches',
      NESTED,
      { source, metricType: str('MetricType'), spaceId: num('2000') },
      true,
    ],
    [
      'nested: metricType without metricId or spaceId does not match',
      NESTED,
      { source, metricType: str('MetricType') },
      false,
    ],
  ]);
});

describe('attributes SNS does not filter on', () => {
  matchCases([
    ['a Binary attribute never matches a value rule', { store: ['example_corp'] }, { store: bin() }, false],
    [
      'a Binary attribute does not satisfy exists true',
      { store: [{ exists: true }] },
      { store: bin() },
      false,
    ],
    [
      'a Binary attribute is ignored, so exists false holds',
      { store: [{ exists: false }] },
      { store: bin(), event: str('x') },
      true,
    ],
    [
      'a Binary attribute does not match anything-but',
      { store: [{ 'anything-but': 'x' }] },
      { store: bin() },
      false,
    ],
    [
      'a malformed Number matches nothing',
      { price: [{ numeric: ['>', 0] }] },
      { price: num('cheap') },
      false,
    ],
    [
      'a malformed String.Array matches nothing',
      { tags: ['russia'] },
      { tags: { DataType: 'String.Array', StringValue: 'russia' } },
      false,
    ],
  ]);
});

describe('validateFilterPolicy accepts the documented policies', () => {
  it.each<[string, unknown]>([
    ['exact strings', { customer_interests: ['rugby', 'tennis'] }],
    ['a number, true, false and null', { key: ['v', 10, true, false, null] }],
    [
      'anything-but list, value and prefix',
      {
        a: [
          { 'anything-but': ['rugby', 100] },
          { 'anything-but': 'x' },
          { 'anything-but': { prefix: 'order-' } },
        ],
      },
    ],
    [
      'numeric ranges at the limits',
      { n: [{ numeric: ['>=', -1e9, '<', 1e9] }, { numeric: ['=', 0.00001] }] },
    ],
    [
      'exists, prefix, suffix, equals-ignore-case',
      { k: [{ exists: false }, { prefix: '' }, { suffix: 'ball' }, { 'equals-ignore-case': 'X' }] },
    ],
    ['five keys', { a: [1], b: [1], c: [1], d: [1], e: [1] }],
    ['exactly 150 combinations', { a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], b: [1, 2, 3, 4, 5], c: [1, 2, 3] }],
    ['$or alternatives', { source: ['s'], $or: [{ metricName: ['m'] }, { namespace: ['n'] }] }],
    ['an empty policy', {}],
  ])('%s', (_name, raw) => {
    const result = validateFilterPolicy(raw);
    expect(result).toEqual({ ok: true, policy: raw });
  });
});

describe('validateFilterPolicy rejects what SNS rejects', () => {
  const range = (n: number) => Array.from({ length: n }, (_, i) => `v${i}`);
  it.each<[string, unknown, FilterPolicyIssue[]]>([
    [
      'a policy that is not an object',
      '{"a": ["x"]}',
      [{ path: ROOT_PATH, rule: 'a filter policy must be a JSON object' }],
    ],
    ['an array policy', [{ a: ['x'] }], [{ path: ROOT_PATH, rule: 'a filter policy must be a JSON object' }]],
    ['null', null, [{ path: ROOT_PATH, rule: 'a filter policy must be a JSON object' }]],
    [
      'more than five keys',
      { a: [1], b: [1], c: [1], d: [1], e: [1], f: [1] },
      [{ path: ROOT_PATH, rule: 'a filter policy can have at most 5 attribute names, found 6' }],
    ],
    [
      'more than five keys counting $or alternatives',
      { a: [1], b: [1], c: [1], $or: [{ d: [1] }, { e: [1], f: [1] }] },
      [{ path: ROOT_PATH, rule: 'a filter policy can have at most 5 attribute names, found 6' }],
    ],
    [
      'more than 150 combinations',
      { a: range(10), b: range(16) },
      [{ path: ROOT_PATH, rule: 'the total combination of values must not exceed 150, found 160' }],
    ],
    [
      'more than 150 combinations through $or',
      { a: range(10), $or: [{ b: range(10) }, { c: range(6) }] },
      [{ path: ROOT_PATH, rule: 'the total combination of values must not exceed 150, found 160' }],
    ],
    [
      'a nested object',
      { event: { type: ['created'] } },
      [
        {
          path: 'event',
          rule: 'nested objects are not allowed: a MessageAttributes-scoped policy maps each attribute name to an array of rules',
        },
      ],
    ],
    [
      'a bare value',
      { changeType: 'created' },
      [{ path: 'changeType', rule: 'an attribute name must map to an array of rules' }],
    ],
    [
      'an empty rule array',
      { changeType: [] },
      [{ path: 'changeType', rule: 'a rule array must not be empty' }],
    ],
    [
      'a nested array rule',
      { changeType: [['created']] },
      [
        {
          path: 'changeType[0]',
          rule: 'a rule must be a string, number, true, false, null or a match expression object',
        },
      ],
    ],
    [
      'an unknown numeric operator',
      { price: [{ numeric: ['!=', 5] }] },
      [
        {
          path: 'price[0].numeric[0]',
          rule: 'unrecognized numeric operator "!="; expected one of =, <, <=, >, >=',
        },
      ],
    ],
    [
      'a numeric operand that is a string',
      { price: [{ numeric: ['=', '5'] }] },
      [{ path: 'price[0].numeric[1]', rule: 'numeric operand must be a number, not "5"' }],
    ],
    [
      'a numeric range that starts with an upper bound',
      { price: [{ numeric: ['<', 0, '<=', 10] }] },
      [{ path: 'price[0].numeric[0]', rule: 'a numeric range must start with ">" or ">=", not "<"' }],
    ],
    [
      'a numeric range that ends with a lower bound',
      { price: [{ numeric: ['>', 0, '>=', 10] }] },
      [{ path: 'price[0].numeric[2]', rule: 'a numeric range must end with "<" or "<=", not ">="' }],
    ],
    [
      'a numeric range upside down',
      { price: [{ numeric: ['>', 10, '<', 5] }] },
      [{ path: 'price[0].numeric', rule: 'numeric range bottom 10 must be less than its top 5' }],
    ],
    [
      'a numeric expression with a dangling operator',
      { price: [{ numeric: ['>', 0, '<'] }] },
      [
        {
          path: 'price[0].numeric',
          rule: 'numeric must be an array holding one comparison, ["=", 5], or a range, [">", 0, "<=", 10]',
        },
      ],
    ],
    [
      'numeric given a bare number',
      { price: [{ numeric: 5 }] },
      [
        {
          path: 'price[0].numeric',
          rule: 'numeric must be an array holding one comparison, ["=", 5], or a range, [">", 0, "<=", 10]',
        },
      ],
    ],
    [
      'a numeric operand beyond 1e9',
      { price: [{ numeric: ['<', 2e9] }] },
      [
        {
          path: 'price[0].numeric[1]',
          rule: "2000000000 is outside SNS's numeric range of -1000000000 to 1000000000",
        },
      ],
    ],
    [
      'a numeric operand with six decimal places',
      { price: [{ numeric: ['=', 0.123456] }] },
      [
        {
          path: 'price[0].numeric[1]',
          rule: "0.123456 has more than 5 decimal places, SNS's numeric precision",
        },
      ],
    ],
    [
      'an exact number beyond 1e9',
      { price: [1, -1e10] },
      [
        {
          path: 'price[1]',
          rule: "-10000000000 is outside SNS's numeric range of -1000000000 to 1000000000",
        },
      ],
    ],
    [
      'a prefix that is not a string',
      { tags: ['russia', { prefix: 1 }] },
      [{ path: 'tags[1].prefix', rule: 'prefix must be a string' }],
    ],
    [
      'a suffix that is not a string',
      { tags: [{ suffix: ['a'] }] },
      [{ path: 'tags[0].suffix', rule: 'suffix must be a string' }],
    ],
    [
      'equals-ignore-case that is not a string',
      { tags: [{ 'equals-ignore-case': null }] },
      [{ path: 'tags[0].equals-ignore-case', rule: 'equals-ignore-case must be a string' }],
    ],
    [
      'exists that is not a boolean',
      { store: [{ exists: 'yes' }] },
      [{ path: 'store[0].exists', rule: 'exists must be true or false' }],
    ],
    [
      'two operators in one match expression',
      { tags: [{ prefix: 'a', suffix: 'b' }] },
      [
        {
          path: 'tags[0]',
          rule: 'a match expression must have exactly one operator, found 2 (prefix, suffix)',
        },
      ],
    ],
    [
      'an unknown operator',
      { tags: [{ contains: 'syria' }] },
      [
        {
          path: 'tags[0]',
          rule: 'unrecognized operator "contains"; expected one of prefix, suffix, equals-ignore-case, anything-but, numeric, exists',
        },
      ],
    ],
    [
      'anything-but with a suffix',
      { event: [{ 'anything-but': { suffix: 'x' } }] },
      [
        {
          path: 'event[0].anything-but',
          rule: 'anything-but takes only a nested prefix, {"anything-but": {"prefix": "..."}}; found ["suffix"]',
        },
      ],
    ],
    [
      'anything-but with an empty list',
      { event: [{ 'anything-but': [] }] },
      [{ path: 'event[0].anything-but', rule: 'anything-but must list at least one value' }],
    ],
    [
      'anything-but listing a boolean',
      { event: [{ 'anything-but': ['a', true] }] },
      [{ path: 'event[0].anything-but[1]', rule: 'anything-but values must be strings or numbers' }],
    ],
    [
      'a rule inside an $or alternative',
      { $or: [{ a: ['x'] }, { b: [{ prefix: 2 }] }] },
      [{ path: '$or[1].b[0].prefix', rule: 'prefix must be a string' }],
    ],
    [
      '"$or" with one alternative, which SNS reads as an attribute name',
      { $or: [{ a: ['x'] }] },
      [
        {
          path: '$or[0]',
          rule: 'unrecognized operator "a"; expected one of prefix, suffix, equals-ignore-case, anything-but, numeric, exists',
        },
        {
          path: '$or',
          rule: '"$or" is an OR only when it holds at least 2 objects whose keys are attribute names; otherwise SNS reads it as an attribute name',
        },
      ],
    ],
    [
      'every problem at once',
      { changeType: [], price: [{ numeric: ['>', 'x'] }] },
      [
        { path: 'changeType', rule: 'a rule array must not be empty' },
        { path: 'price[0].numeric[1]', rule: 'numeric operand must be a number, not "x"' },
      ],
    ],
  ])('%s', (_name, raw, issues) => {
    expect(validateFilterPolicy(raw)).toEqual({ ok: false, issues });
  });

  it('describes issues as path: rule', () => {
    const result = validateFilterPolicy({ changeType: [], tags: [{ prefix: 1 }] });
    expect(result.ok ? '' : describeFilterPolicyIssues(result.issues)).toBe(
      'changeType: a rule array must not be empty; tags[0].prefix: prefix must be a string',
    );
  });
});

describe('filterPolicyCombinations', () => {
  it.each<[string, Record<string, unknown>, number]>([
    [
      'the docs example: 3 x 1 x 2',
      { key_a: ['one', 'two', 'three'], key_b: ['one'], key_c: ['one', 'two'] },
      6,
    ],
    ['an $or adds its alternatives', { a: [1, 2], $or: [{ b: [1, 2, 3] }, { c: [1] }] }, 8],
    ['an empty policy', {}, 1],
  ])('%s', (_name, raw, expected) => {
    expect(filterPolicyCombinations(raw)).toBe(expected);
  });
});
