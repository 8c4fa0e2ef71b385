/**
 * The arithmetic of the cost model, apart from the measuring: what a month at a given scale uses
 * of each priced item, and what that costs before and after the always-free allowances. Pure, so
 * a test checks it on a small fixed input.
 */
import { PRICES, type PriceKey, type Service } from './prices.js';

/** Quantities of priced items (in each price's unit). */
export type Usage = Partial<Record<PriceKey, number>>;

/** What one unit of work uses, measured by bench/cost.ts. */
export interface UnitsOfWork {
  /** An event posted through the API, and its change projected by the stream function. */
  event: Usage;
  /** What an incremental publish run costs for one more event (a run with it, less an empty run). */
  publishPerEvent: Usage;
  /** A daily digest, per subscriber. */
  digest: Usage;
  /** An instant alert sent, with its share of the changes' fan-out to followers. */
  alert: Usage;
  /** A sign-up and its confirmation. */
  confirmation: Usage;
  /** A feed poll through CloudFront. */
  poll: Usage;
}

/** What each thing kept takes in storage (bytes), for the storage a year of traffic leaves. */
export interface StoragePerUnit {
  /** Table and index bytes an event leaves (event item, tag entries, index entries). */
  tableBytesPerEvent: number;
  tableBytesPerSubscriber: number;
  /** Site bytes an event adds (its pages). */
  siteBytesPerEvent: number;
}

export interface Scale {
  name: string;
  eventsPerDay: number;
  subscribers: number;
  pollsPerDay: number;
}

export const DAYS_PER_MONTH = 30;
/** Storage is priced as it stands after this many days of traffic at the scale's rate. */
export const STORAGE_AFTER_DAYS = 365;
/**
 * Sign-ups confirmed a month, as a share of the subscribers (an assumption: 5% a month renew the
 * base, which churn wears down as fast).
 */
export const CONFIRMATIONS_PER_SUBSCRIBER_MONTH = 0.05;
/**
 * Subscribers who choose instant alerts over a digest, and the alerts each gets a day (assumptions:
 * a tenth of readers, four alerts a day, well under the daily cap of 12).
 */
export const INSTANT_SHARE = 0.1;
export const ALERTS_PER_INSTANT_SUBSCRIBER_DAY = 4;
/** Billing GB. */
export const GB = 1024 ** 3;

export const SCALES: readonly Scale[] = [
  { name: 'a', eventsPerDay: 100, subscribers: 1_000, pollsPerDay: 10_000 },
  { name: 'b', eventsPerDay: 1_000, subscribers: 100_000, pollsPerDay: 1_000_000 },
  { name: 'c', eventsPerDay: 10_000, subscribers: 1_000_000, pollsPerDay: 20_000_000 },
];

/** `into += from × times`, item by item. */
export const addUsage = (into: Usage, from: Usage, times = 1): Usage => {
  for (const [key, quantity] of Object.entries(from) as [PriceKey, number][]) {
    into[key] = (into[key] ?? 0) + quantity * times;
  }
  return into;
};

/** A month at `scale`: the fixed part plus each unit of work times how often the scale does it. */
export const monthlyUsage = (
  fixed: Usage,
  units: UnitsOfWork,
  storage: StoragePerUnit,
  scale: Scale,
): Usage => {
  const events = scale.eventsPerDay * DAYS_PER_MONTH;
  const usage = addUsage({}, fixed);
  addUsage(usage, units.event, events);
  addUsage(usage, units.publishPerEvent, events);
  addUsage(usage, units.digest, scale.subscribers * (1 - INSTANT_SHARE) * DAYS_PER_MONTH);
  addUsage(
    usage,
    units.alert,
    scale.subscribers * INSTANT_SHARE * ALERTS_PER_INSTANT_SUBSCRIBER_DAY * DAYS_PER_MONTH,
  );
  addUsage(usage, units.confirmation, scale.subscribers * CONFIRMATIONS_PER_SUBSCRIBER_MONTH);
  addUsage(usage, units.poll, scale.pollsPerDay * DAYS_PER_MONTH);
  const tableGb =
    (scale.eventsPerDay * STORAGE_AFTER_DAYS * storage.tableBytesPerEvent +
      scale.subscribers * storage.tableBytesPerSubscriber) /
    GB;
  addUsage(usage, {
    dynamoStorage: tableGb,
    dynamoPitr: tableGb,
    s3Storage: (scale.eventsPerDay * STORAGE_AFTER_DAYS * storage.siteBytesPerEvent) / GB,
  });
  // Logs are kept 30 days (the stack's retention): what is stored is about a month of ingestion.
  addUsage(usage, { logsStorage: usage.logsIngestion ?? 0 });
  return usage;
};

export interface CostLine {
  key: PriceKey;
  service: Service;
  item: string;
  quantity: number;
  unit: string;
  /** Dollars a month at list price. */
  before: number;
  /** Dollars a month once the always-free allowance is taken off. */
  after: number;
}

export interface Bill {
  lines: CostLine[];
  services: { service: Service; before: number; after: number }[];
  before: number;
  after: number;
  /** What the always-free allowances take off (before − after). */
  free: number;
}

/** Prices a month's usage, line by line and per service, before and after the free allowances. */
export const priceUsage = (usage: Usage): Bill => {
  const lines: CostLine[] = [];
  for (const [key, price] of Object.entries(PRICES) as [PriceKey, (typeof PRICES)[PriceKey]][]) {
    const quantity = usage[key] ?? 0;
    if (quantity === 0) continue;
    const free = 'free' in price ? price.free : 0;
    lines.push({
      key,
      service: price.service,
      item: price.item,
      quantity,
      unit: price.unit,
      before: (quantity * price.usd) / price.per,
      after: (Math.max(0, quantity - free) * price.usd) / price.per,
    });
  }
  const services: Bill['services'] = [];
  for (const line of lines) {
    let entry = services.find((s) => s.service === line.service);
    if (!entry) {
      entry = { service: line.service, before: 0, after: 0 };
      services.push(entry);
    }
    entry.before += line.before;
    entry.after += line.after;
  }
  const before = lines.reduce((sum, l) => sum + l.before, 0);
  const after = lines.reduce((sum, l) => sum + l.after, 0);
  return { lines, services, before, after, free: before - after };
};
