/**
 * Where write units land: per item kind and per partition key value, table and index. Pure
 * arithmetic over an item before and after a write, so the stream benchmark's proxy and its test
 * share it. Index definitions come from shared/keys.ts TABLE as the code under test declares them,
 * so a changed layout is measured as it is.
 */
import { PARTITION_PREFIX, TABLE, TABLE_INDEXES } from '../shared/keys.js';
import { type AttributeMap, sizes } from './counting-dynamo.js';

/** A secondary index as shared/keys.ts TABLE declares one. */
export interface IndexDef {
  name: string;
  partitionKey: string;
  sortKey: string;
  projection: 'ALL' | 'KEYS_ONLY' | 'INCLUDE';
  nonKeyAttributes?: readonly string[];
}

/** The item's entry in `index`, or undefined when the index does not hold it (a key attribute missing). */
export const projectedEntry = (index: IndexDef, item: AttributeMap | undefined): AttributeMap | undefined => {
  if (!item?.[index.partitionKey] || !item[index.sortKey]) return undefined;
  if (index.projection === 'ALL') return item;
  const names = new Set<string>([
    TABLE.partitionKey,
    TABLE.sortKey,
    index.partitionKey,
    index.sortKey,
    ...(index.projection === 'INCLUDE' ? (index.nonKeyAttributes ?? []) : []),
  ]);
  return Object.fromEntries(Object.entries(item).filter(([name]) => names.has(name))) as AttributeMap;
};

const UNIT = 1024;

/** DynamoDB's write units for an item (or index entry) of `bytes`: 1 per KB, rounded up, at least 1. */
export const writeUnitsOfSize = (bytes: number): number => Math.max(1, Math.ceil(bytes / UNIT));

/** One share of a write: `units` on partition `partition` (`<table or index> <key value>`). */
export interface Landing {
  /** `table` or the index's name. */
  on: string;
  partition: string;
  units: number;
}

/** An entry as text, attributes in name order: two reads of one item may list them differently. */
const canonical = (entry: AttributeMap | undefined): string =>
  JSON.stringify(Object.entries(entry ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

const scalar = (value: Record<string, unknown> | undefined): string | undefined => {
  if (!value) return undefined;
  const v = value.S ?? value.N ?? value.B;
  return v === undefined ? JSON.stringify(value) : String(v);
};

/**
 * The units one item's change lands, by partition: the table's (the larger of the item before and
 * after, as DynamoDB charges a write), and
 * each index's from the projected entries (1 unit per KB, rounded up; an entry whose key moved is
 * a delete on the old partition and a put on the new; an entry that did not change costs nothing).
 */
export const landings = (
  before: AttributeMap | undefined,
  after: AttributeMap | undefined,
  indexes: readonly IndexDef[] = TABLE_INDEXES,
): Landing[] => {
  const item = after ?? before;
  const out: Landing[] = [];
  const pk = scalar(item?.[TABLE.partitionKey]);
  if (pk !== undefined) {
    const computed = Math.max(
      before ? writeUnitsOfSize(sizes.itemSize(before)) : 0,
      after ? writeUnitsOfSize(sizes.itemSize(after)) : 0,
      1,
    );
    out.push({ on: 'table', partition: pk, units: computed });
  }
  for (const index of indexes) {
    const oldEntry = projectedEntry(index, before);
    const newEntry = projectedEntry(index, after);
    const oldSize = oldEntry && sizes.itemSize(oldEntry);
    const newSize = newEntry && sizes.itemSize(newEntry);
    const oldPk = oldEntry && scalar(oldEntry[index.partitionKey]);
    const newPk = newEntry && scalar(newEntry[index.partitionKey]);
    if (oldPk === undefined && newPk === undefined) continue;
    if (oldPk !== undefined && newPk !== undefined) {
      const moved =
        oldPk !== newPk || JSON.stringify(before?.[index.sortKey]) !== JSON.stringify(after?.[index.sortKey]);
      if (moved) {
        out.push({ on: index.name, partition: oldPk, units: writeUnitsOfSize(oldSize as number) });
        out.push({ on: index.name, partition: newPk, units: writeUnitsOfSize(newSize as number) });
      } else if (canonical(oldEntry) !== canonical(newEntry)) {
        out.push({
          on: index.name,
          partition: newPk,
          units: writeUnitsOfSize(Math.max(oldSize as number, newSize as number)),
        });
      }
    } else if (oldPk !== undefined) {
      out.push({ on: index.name, partition: oldPk, units: writeUnitsOfSize(oldSize as number) });
    } else {
      out.push({ on: index.name, partition: newPk as string, units: writeUnitsOfSize(newSize as number) });
    }
  }
  return out;
};

/** Readable names of the kinds the benchmark reports; other prefixes go by their name in keys.ts. */
const KIND_LABELS: Record<string, string> = {
  event: 'event',
  tagEntry: 'tag entry',
  tags: 'tag counter/summary',
  counter: 'tag counter/summary',
  mark: 'mark',
  changeLog: 'change log',
  parked: 'parked',
  day: 'day entry',
};

/**
 * The kind of item a table partition key names, by the longest PARTITION_PREFIX it starts with
 * (`TAGS` is the tag summaries, `TAG#x` a tag's entries). A prefix whose name speaks of counts or
 * summaries of tags is grouped with the tag counters, whatever the layout calls it.
 */
export const kindOf = (partitionKey: string): string => {
  let best: [string, string] | undefined;
  for (const [name, prefix] of Object.entries(PARTITION_PREFIX) as [string, string][]) {
    if (partitionKey.startsWith(prefix) && (!best || prefix.length > best[1].length)) best = [name, prefix];
  }
  if (!best) return 'other';
  const label = KIND_LABELS[best[0]];
  if (label) return label;
  if (/tag/i.test(best[0]) && /count|summar|total/i.test(best[0])) return 'tag counter/summary';
  return `other (${best[0]})`;
};

/** Units by kind and by partition, over any number of writes. */
export class Ledger {
  /** kind → { table, index } units */
  readonly byKind = new Map<string, { table: number; index: number }>();
  /** `<table|index> <partition key value>` → units */
  readonly byPartition = new Map<string, number>();
  tableUnits = 0;
  indexUnits = 0;

  /** Books one item's change: `kind` is the item's (its table partition key's) kind. */
  add(kind: string, items: Landing[]): void {
    const row = this.byKind.get(kind) ?? { table: 0, index: 0 };
    this.byKind.set(kind, row);
    for (const landing of items) {
      if (landing.on === 'table') {
        row.table += landing.units;
        this.tableUnits += landing.units;
      } else {
        row.index += landing.units;
        this.indexUnits += landing.units;
      }
      const key = `${landing.on} ${landing.partition}`;
      this.byPartition.set(key, (this.byPartition.get(key) ?? 0) + landing.units);
    }
  }

  /** The `n` partitions with the most units, most first. */
  top(n: number): { partition: string; units: number }[] {
    return [...this.byPartition.entries()]
      .map(([partition, units]) => ({ partition, units }))
      .sort((a, b) => b.units - a.units || a.partition.localeCompare(b.partition))
      .slice(0, n);
  }

  get total(): number {
    return this.tableUnits + this.indexUnits;
  }
}

/** 1,000 WCU/s per partition ÷ the busiest partition's units per ingested event. */
export const hotCeiling = (busiestUnits: number, events: number): number =>
  busiestUnits === 0 ? Number.POSITIVE_INFINITY : 1000 / (busiestUnits / events);
