import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, StreamViewType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { TABLE, TABLE_INDEXES } from '../../shared/keys.js';

export interface EventsTableProps {
  removalPolicy: 'retain' | 'destroy';
}

/** What the code does with the table: single-item reads and writes, batches, queries; never a scan or a transaction. */
const READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'];
const WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

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

  /** The table and each index by name: no `index/*` wildcard. */
  private get readResources(): string[] {
    return [
      this.table.tableArn,
      ...TABLE_INDEXES.map((index) => `${this.table.tableArn}/index/${index.name}`),
    ];
  }

  /** Get, batch-get and query the table and its indexes. No scans. */
  grantRead(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: READ_ACTIONS, resources: this.readResources }),
    );
  }

  /** Read, and put, update, delete and batch-write items (the indexes are written through the table). */
  grantReadWrite(grantee: IGrantable): void {
    this.grantRead(grantee);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: WRITE_ACTIONS, resources: [this.table.tableArn] }),
    );
  }
}
