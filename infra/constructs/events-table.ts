import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, StreamViewType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { TABLE, TABLE_INDEXES } from '../../shared/keys.js';
import { leadingKeysPattern, TABLE_ACCESS, type TableAccess } from '../table-access.js';
import type { TidingsFunction } from './tidings-function.js';

export interface EventsTableProps {
  removalPolicy: 'retain' | 'destroy';
}

/** The single table: on demand, point-in-time recovery, a stream of old and new images, TTL. */
export class EventsTable extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: EventsTableProps) {
    super(scope, id);
    const key = (name: string) => ({ name, type: AttributeType.STRING });
    this.table = new TableV2(this, 'Table', {
      partitionKey: key(TABLE.partitionKey),
      sortKey: key(TABLE.sortKey),
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      dynamoStream: StreamViewType.NEW_AND_OLD_IMAGES,
      timeToLiveAttribute: TABLE.ttlAttribute,
      deletionProtection: props.removalPolicy === 'retain',
      removalPolicy: props.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      globalSecondaryIndexes: TABLE_INDEXES.map((index) => ({
        indexName: index.name,
        partitionKey: key(index.partitionKey),
        sortKey: key(index.sortKey),
        projectionType: ProjectionType[index.projection],
        ...('nonKeyAttributes' in index ? { nonKeyAttributes: [...index.nonKeyAttributes] } : {}),
      })),
    });
  }

  get tableName(): string {
    return this.table.tableName;
  }

  /**
   * Grants `grantee` exactly `access`: one statement per group of partitions, naming its actions,
   * on the table (or the index it queries) and bound by `dynamodb:LeadingKeys` to those partitions.
   * `ForAllValues` checks every key of a batch; nothing here grants Scan, whose requests carry no key.
   */
  grant(grantee: IGrantable, access: TableAccess): void {
    const statement = (actions: readonly string[], resource: string, partitions: readonly string[]) =>
      new PolicyStatement({
        actions: actions.map((action) => `dynamodb:${action}`),
        resources: [resource],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': partitions.map(leadingKeysPattern) },
        },
      });
    for (const { partitions, actions } of access.items) {
      grantee.grantPrincipal.addToPrincipalPolicy(statement(actions, this.table.tableArn, partitions));
    }
    for (const { index, partitions } of access.queries ?? []) {
      grantee.grantPrincipal.addToPrincipalPolicy(
        statement(['Query'], `${this.table.tableArn}/index/${index.name}`, partitions),
      );
    }
  }

  /** Grants a function what TABLE_ACCESS says its code does in the table. */
  grantFunction(fn: TidingsFunction): void {
    const access = TABLE_ACCESS[fn.entryName];
    if (!access) throw new Error(`no table access is declared for ${fn.entryName} (infra/table-access.ts)`);
    this.grant(fn, access);
  }
}
