import { describe, expect, it } from 'vitest';
import { INDEX_PREFIX } from '../../infra/table-access.js';
import {
  CONFIRMATIONS_CONTROL,
  controlKey,
  counterKey,
  dayPartition,
  dayPartitions,
  digestPartition,
  LAST_PUBLISH_CONTROL,
  latestPartition,
  markKey,
  PARTITION_PREFIX,
  publishJobKey,
  publishSliceKey,
  TABLE,
  tagEntryPartition,
} from '../../shared/keys.js';
import { synthTidings } from '../helpers/synth.js';

const { template } = synthTidings();

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, asserted on structurally
type Cfn = any;
type Resource = { Type: string; Properties: Record<string, Cfn> };
const resources = (type: string) => Object.entries(template.findResources(type)) as [string, Resource][];
const [tableId] = Object.keys(template.findResources('AWS::DynamoDB::GlobalTable'));
const TABLE_ARN = JSON.stringify({ 'Fn::GetAtt': [tableId, 'Arn'] });
const indexArn = (name: string) =>
  JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [tableId, 'Arn'] }, `/index/${name}`]] });

/** Every Tidings function (by file name) and the DynamoDB statements of its role. */
const dynamoStatements = new Map(
  resources('AWS::Lambda::Function')
    .filter(([, fn]) => String(fn.Properties.Description).startsWith('Tidings '))
    .map(([, fn]) => {
      const role = fn.Properties.Role['Fn::GetAtt'][0];
      const statements = resources('AWS::IAM::Policy')
        .filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, Cfn>[])
        .filter((s) => JSON.stringify(s.Action).includes('dynamodb:'))
        // The stream event source's own grant (on the stream ARN, not the table) is not a table grant.
        .filter((s) => !JSON.stringify(s.Resource).includes('StreamArn'));
      return [String(fn.Properties.Description).replace('Tidings ', ''), statements];
    }),
);

/** `<resource> <action>` → the partitions it is bound to, for one function. */
const grantOf = (name: string) => {
  const grants: Record<string, string[]> = {};
  for (const s of dynamoStatements.get(name) ?? []) {
    const resource = JSON.stringify(s.Resource);
    const where =
      resource === TABLE_ARN
        ? 'table'
        : (
            Object.values(TABLE).find((i) => typeof i === 'object' && resource === indexArn(i.name)) as
              | { name: string }
              | undefined
          )?.name;
    if (!where) throw new Error(`${name}: a table grant on ${resource}`);
    const keys = s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] as string[] | undefined;
    for (const action of [s.Action].flat() as string[]) {
      const key = `${where} ${action.replace('dynamodb:', '')}`;
      grants[key] = [...(grants[key] ?? []), ...(keys ?? ['(no condition)'])].sort();
    }
  }
  return grants;
};

const S = 'SUBSCRIBER#*';
const rw = (where: string, partitions: string[], actions: string[]) =>
  Object.fromEntries(actions.map((a) => [`${where} ${a}`, partitions]));

/**
 * What every function may do in the table, written out by hand from its code: a change to a
 * grant must change this table too.
 */
const EXPECTED: Record<string, Record<string, string[]>> = {
  'authorize-request': { 'table GetItem': ['APIKEY#*'] },
  'post-event': rw('table', ['EVENT#*'], ['GetItem', 'PutItem']),
  'post-events-batch': rw('table', ['EVENT#*'], ['GetItem', 'PutItem']),
  'put-event': rw('table', ['EVENT#*'], ['GetItem', 'PutItem']),
  'delete-event': rw('table', ['EVENT#*'], ['GetItem', 'PutItem']),
  'get-event': { 'table GetItem': ['EVENT#*'] },
  'list-events': {
    'table GetItem': ['TAGS'],
    'table BatchGetItem': ['COUNT#*', 'EVENT#*'],
    'table Query': ['DAY#*', 'TAG#*'],
    'GSI1 Query': ['LATEST#*'],
    'GSI2 Query': ['DAY#*'],
  },
  'list-tags': { 'table Query': ['TAGS'], 'table BatchGetItem': ['COUNT#*'] },
  'get-openapi': {},
  'create-webhook': rw('table', ['WEBHOOK#*'], ['Query', 'PutItem', 'DeleteItem']),
  'list-webhooks': rw('table', ['WEBHOOK#*'], ['Query', 'DeleteItem']),
  'delete-webhook': rw('table', ['WEBHOOK#*'], ['GetItem', 'DeleteItem']),
  'create-subscription': {
    'table GetItem': ['CONTROL#confirmations', 'LIMIT#*', S],
    'table PutItem': ['LIMIT#*', S],
    'table UpdateItem': ['LIMIT#*', S],
    'table BatchGetItem': ['COUNT#*', 'TAGS', 'TOPICS'],
    'table Query': ['TAGS', 'TOPICS'],
    'table BatchWriteItem': ['FOLLOW#*'],
  },
  ...Object.fromEntries(
    ['confirm-subscription', 'unsubscribe', 'manage-subscription'].map((name) => [
      name,
      {
        ...rw('table', [S], ['GetItem', 'UpdateItem']),
        'table Query': ['TAGS', 'TOPICS'],
        'table BatchGetItem': ['COUNT#*', 'TAGS', 'TOPICS'],
        'table BatchWriteItem': ['FOLLOW#*'],
      },
    ]),
  ),
  'get-subscriber-feed': {
    'table GetItem': [S],
    'table Query': ['CHANGES#*'],
    'table BatchGetItem': ['EVENT#*'],
  },
  'handle-email-feedback': {
    ...rw('table', [S], ['PutItem', 'UpdateItem']),
    'table BatchWriteItem': ['FOLLOW#*'],
  },
  'handle-reputation-alarm': rw('table', ['CONTROL#confirmations'], ['GetItem', 'PutItem']),
  'process-changes': {
    'table BatchGetItem': ['COUNT#*', 'EVENT#*', 'TAG#*', 'TAGS', 'TOPICS'],
    'table UpdateItem': ['COUNT#*', 'PARKED#*'],
    'table DeleteItem': ['PARKED#*', 'TAG#*'],
    'table PutItem': ['TAG#*', 'TAGS', 'TOPICS'],
    'table BatchWriteItem': ['CHANGES#*', 'DAY#*', 'MARK#*'],
  },
  'websub-hub': rw('table', ['WEBSUB#*'], ['GetItem', 'PutItem', 'Query']),
  'websub-worker': rw('table', ['WEBSUB#*'], ['GetItem', 'PutItem', 'DeleteItem', 'Query', 'BatchWriteItem']),
  // publish-site plans a full publish (and runs the incremental ones); publish-slice renders its
  // slices: the same pages, feeds and records, and the job's two kinds of item.
  ...Object.fromEntries(
    ['publish-site', 'publish-slice'].map((name) => [
      name,
      {
        'table Query': ['DAY#*', 'JOB#publish#*', 'MARK#*', 'TAG#*', 'TAGS'],
        'table BatchWriteItem': ['MARK#*'],
        'table BatchGetItem': ['COUNT#*', 'EVENT#*', 'TAG#*', 'TAGS'],
        'table GetItem': ['JOB#publish', 'TAGS'],
        'table UpdateItem': ['COUNT#*', 'JOB#publish', 'MARK#*'],
        'table PutItem': ['CONTROL#last-publish', 'JOB#publish', 'JOB#publish#*', 'LEASE#*', 'TAGS'],
        'table DeleteItem': ['LEASE#*', 'MARK#*'],
        'GSI1 Query': ['LATEST#*'],
        'GSI2 Query': ['DAY#*'],
      },
    ]),
  ),
  'send-digests': {
    ...rw('table', [S], ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem']),
    'table BatchGetItem': ['EVENT#*', S],
    'table Query': ['CHANGES#*'],
    'GSI3 Query': ['DIGEST#*'],
  },
  'plan-digests': {},
  'send-alerts': {
    'table Query': ['FOLLOW#*'],
    'table BatchGetItem': ['ALERTED#*', 'ALERTSENT#*', 'EVENT#*', S],
    'table BatchWriteItem': ['ALERTSENT#*'],
    'table PutItem': ['ALERTED#*'],
    'table UpdateItem': ['ALERTED#*', S],
    'table DeleteItem': ['ALERTED#*'],
  },
  // Answers the site's 404 page from the bucket: no table access.
  'serve-not-found': {},
};

describe('table grants, function by function', () => {
  it('cover every function, and no function is left out of the expectations', () => {
    expect([...dynamoStatements.keys()].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.keys(EXPECTED))('%s gets exactly its actions on its own partitions', (name) => {
    const sorted = (grants: Record<string, string[]>) =>
      Object.fromEntries(Object.entries(grants).map(([k, v]) => [k, [...v].sort()]));
    expect(grantOf(name)).toEqual(sorted(EXPECTED[name] ?? {}));
  });

  it('name their actions, never Scan, a transaction or a wildcard, and every one is bound by LeadingKeys', () => {
    for (const [name, statements] of dynamoStatements) {
      for (const s of statements) {
        const actions = [s.Action].flat() as string[];
        for (const action of actions) {
          expect(action, name).toMatch(/^dynamodb:[A-Za-z]+$/);
          expect(action, name).not.toMatch(/Scan|Transact|PartiQL|\*/);
        }
        expect(Object.keys(s.Condition ?? {}), `${name}: ${actions}`).toEqual(['ForAllValues:StringLike']);
        const keys = s.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys'] as string[];
        expect(keys.length, name).toBeGreaterThan(0);
        for (const key of keys) expect(key, name).not.toBe('*');
      }
    }
  });

  it('bind only to partitions that shared/keys.ts declares, table and index alike', () => {
    const table = Object.values(PARTITION_PREFIX).map((p) => (p.endsWith('#') ? `${p}*` : p));
    const index = Object.values(INDEX_PREFIX).map((p) => `${p}*`);
    // A switch is granted by its exact key, which must be one the key builders make; so are the
    // full publish job's item and its slices' partitions.
    const exact = [
      controlKey(CONFIRMATIONS_CONTROL).PK,
      controlKey(LAST_PUBLISH_CONTROL).PK,
      publishJobKey().PK,
      `${publishSliceKey('', '').PK}*`,
    ];
    for (const [name, grants] of Object.entries(EXPECTED)) {
      for (const [key, partitions] of Object.entries(grants)) {
        for (const p of partitions)
          expect(key.startsWith('table') ? [...table, ...exact] : index, name).toContain(p);
      }
    }
  });

  it('grant each switch (CONTROL#) by its exact key, never the whole prefix', () => {
    for (const [name, grants] of Object.entries(EXPECTED)) {
      for (const partitions of Object.values(grants)) expect(partitions, name).not.toContain('CONTROL#*');
    }
  });

  it('grant the full publish job’s items to the publisher’s functions alone, never every job (JOB#*)', () => {
    const withJob = Object.entries(EXPECTED)
      .filter(([, grants]) => Object.values(grants).some((p) => p.some((k) => k.startsWith('JOB#'))))
      .map(([name]) => name);
    expect(withJob.sort()).toEqual(['publish-site', 'publish-slice']);
    for (const [name, grants] of Object.entries(EXPECTED)) {
      for (const partitions of Object.values(grants)) expect(partitions, name).not.toContain('JOB#*');
    }
    // The patterns match the keys the job writes, and no other job's.
    const [job, slices] = ['JOB#publish', 'JOB#publish#*'];
    expect(publishJobKey().PK).toBe(job);
    expect(publishSliceKey('2026-12-06T11:00:00Z-ab12', '7').PK).toMatch(
      new RegExp(`^${slices.replace('*', '.+')}$`),
    );
    expect('JOB#digest#x').not.toMatch(new RegExp(`^${slices.replace('*', '.+')}$`));
  });

  it('use index prefixes that are those of the key builders', () => {
    expect(latestPartition(3).startsWith(INDEX_PREFIX.latest)).toBe(true);
    expect(dayPartition('2016-11-16', '2016/11/16/x').startsWith(INDEX_PREFIX.day)).toBe(true);
    for (const p of dayPartitions('2016-11-16')) expect(p.startsWith(INDEX_PREFIX.day)).toBe(true);
    expect(digestPartition('daily', 1).startsWith(INDEX_PREFIX.digest)).toBe(true);
  });

  it('use table prefixes that are those of the key builders of derived items', () => {
    expect(tagEntryPartition('russia', 3).startsWith(PARTITION_PREFIX.tagEntry)).toBe(true);
    expect(counterKey('russia', 3).PK.startsWith(PARTITION_PREFIX.counter)).toBe(true);
    expect(markKey('tag', 'x', 'n', 0).PK.startsWith(PARTITION_PREFIX.mark)).toBe(true);
  });
});
