import { randomUUID } from 'node:crypto';
import type {
  EventRecord,
  EventStore,
  LegacyDerived,
  ListingStore,
  MigrationStore,
  ShardAudit,
  WriteStamp,
} from '../adapters/event-store.js';
import type { TopicLabelStore } from '../adapters/topic-labels.js';
import {
  type Attribution,
  correctedEvent,
  draftOf,
  type EventDraft,
  isReservedEventId,
  isTombstone,
  type NewsEvent,
  sameContent,
  type Tag,
  tombstoneOf,
  unreservedEventId,
} from '../domain/event.js';
import { isReservedSlug, topicSlug, unreservedSlug } from '../domain/slug.js';
import { ConcurrentWriteError } from '../errors.js';

export interface MigrationDeps {
  /** In AWS the table's stream projects every write; locally, a store wrapped by the change capture. */
  store: EventStore & MigrationStore;
  now: () => string;
  writeId?: () => string;
  /**
   * Where the topic labels of the events scanned are noted, for subscribers to choose from: labels
   * of events stored before the change stream noted them. None: not noted.
   */
  topicLabels?: TopicLabelStore;
}

/** Who a migrated event's `updatedBy` names: the operator's migration, not an API key. */
export const MIGRATION_ATTRIBUTION: Attribution = { keyId: 'migration', keyName: 'npm run migrate' };

export interface MigrationProgress {
  /** Event items read so far (tombstones included). */
  scanned: number;
  /** Events moved off a reserved id (written at the new id, the old one tombstoned). */
  moved: number;
  /** Events whose tags had a reserved slug, corrected to the tags' new slugs. */
  retagged: number;
  /** What could not be migrated, one line each, with why; running again retries them. */
  skipped: string[];
  /** Where the scan is: pass it back (`--cursor`) to resume after an interruption. Absent when done. */
  cursor?: string;
}

export interface MigrationOptions {
  /** Resume a scan where a previous run printed it was. */
  cursor?: string;
  /** Items read per scan request. */
  pageSize?: number;
  /** Report what would change and write nothing. */
  dryRun?: boolean;
  /** Called after each page of the scan. */
  onPage?: (progress: MigrationProgress) => void;
}

/** Tags with their reserved slugs replaced; a tag whose new slug the event already has is dropped. */
const unreservedTags = (tags: readonly Tag[]): Tag[] => {
  const seen = new Set<string>();
  return tags.flatMap((tag) => {
    const slug = unreservedSlug('tag', tag.slug);
    if (seen.has(slug)) return [];
    seen.add(slug);
    return [{ slug, name: tag.name }];
  });
};

type Outcome = 'moved' | 'retagged' | 'unchanged' | { skipped: string };

/**
 * Moves one event off reserved names. Every step is a conditional write of its own and checks what
 * is stored first, so a run cut short anywhere is finished by the next one:
 * - an event at a reserved id (`…/index`) is written at `unreservedEventId` (same content, tags
 *   fixed, first publication and revision kept) and then its old id becomes a tombstone, which the
 *   change stream projects as a deletion (its listings, tag entries and pages go; the publisher
 *   keeps such ids off the day's page, so that page stays);
 * - an event whose tags have a reserved slug is corrected (next revision) to the new tag slugs.
 */
const migrateEvent = async (deps: MigrationDeps, record: EventRecord, dryRun: boolean): Promise<Outcome> => {
  const { event } = record;
  if (isTombstone(event)) return 'unchanged';
  const reservedId = isReservedEventId(event.id);
  const reservedTags = event.tags.some((tag) => isReservedSlug('tag', tag.slug));
  if (!reservedId && !reservedTags) return 'unchanged';
  if (dryRun) return reservedId ? 'moved' : 'retagged';

  const now = deps.now();
  const stamp = (): WriteStamp => ({
    writeId: (deps.writeId ?? randomUUID)(),
    ...(record.publishedBy ? { publishedBy: record.publishedBy } : {}),
    updatedBy: MIGRATION_ATTRIBUTION,
  });
  const draft: EventDraft = {
    ...draftOf(event),
    id: unreservedEventId(event.id),
    tags: unreservedTags(event.tags),
  };
  try {
    if (!reservedId) {
      await deps.store.putEvent(correctedEvent(event, draft, now), event, stamp());
      return 'retagged';
    }
    const target = await deps.store.getEventRecord(draft.id);
    if (target && !isTombstone(target.event) && !sameContent(target.event, draft)) {
      return {
        skipped: `${event.id}: ${draft.id} already holds another event; give one of them another id (PUT or DELETE and POST) and run again`,
      };
    }
    if (!target || isTombstone(target.event)) {
      const moved: NewsEvent = {
        ...draftOf(draft),
        publishedAt: event.publishedAt,
        updatedAt: now,
        // Past a tombstone at the new id, so readers of the stream see a newer revision there.
        revision: Math.max(event.revision, (target?.event.revision ?? 0) + 1),
      };
      await deps.store.putEvent(moved, target?.event, stamp());
    }
    await deps.store.putEvent(tombstoneOf(event, now), event, stamp());
    return 'moved';
  } catch (error) {
    if (!(error instanceof ConcurrentWriteError)) throw error;
    return { skipped: `${event.id}: changed while it was migrated; run again` };
  }
};

/**
 * Moves every stored event and tag off the names the site keeps for its own pages
 * (RESERVED_SLUGS), and notes the topic labels events carry (`topicLabels`). A one-off scan of the event items; idempotent (a second run finds nothing to
 * do) and resumable from the cursor it reports after each page.
 */
export const migrateReservedSlugs = async (
  deps: MigrationDeps,
  options: MigrationOptions = {},
): Promise<MigrationProgress> => {
  const progress: MigrationProgress = { scanned: 0, moved: 0, retagged: 0, skipped: [] };
  let cursor = options.cursor;
  do {
    const page = await deps.store.scanEvents({
      limit: options.pageSize ?? 500,
      ...(cursor ? { cursor } : {}),
    });
    for (const record of page.items) {
      progress.scanned++;
      const outcome = await migrateEvent(deps, record, options.dryRun === true);
      if (outcome === 'moved') progress.moved++;
      else if (outcome === 'retagged') progress.retagged++;
      else if (outcome !== 'unchanged') progress.skipped.push(outcome.skipped);
    }
    if (deps.topicLabels && options.dryRun !== true) {
      const labels = page.items.flatMap(({ event }) =>
        !isTombstone(event) && event.topic ? [{ slug: topicSlug(event.topic), name: event.topic }] : [],
      );
      await deps.topicLabels.noteTopics(labels);
    }
    cursor = page.cursor;
    if (cursor) progress.cursor = cursor;
    else delete progress.cursor;
    options.onPage?.({ ...progress, skipped: [...progress.skipped] });
  } while (cursor);
  return progress;
};

export interface LayoutProgress {
  /** Old derived items read so far. */
  scanned: number;
  /** Old tag entries rewritten as slim entries in their shards (or found there already), and removed. */
  entries: number;
  /** Old marks rewritten as packed ones, and removed. */
  marks: number;
  /** Events taken off the day index, their day entries written. */
  days: number;
  /** Tags whose counter shards were checked against their entries (after the scan). */
  tags: number;
  /** Counter shards set from their entries. */
  repaired: number;
  /** Shards left alone because a change is in flight there; running again settles them. */
  inFlight: number;
  cursor?: string;
}

export interface LayoutMigrationDeps {
  store: MigrationStore & Pick<ListingStore, 'listTagNames' | 'auditTag' | 'refreshTagSummary'>;
}

/**
 * Rewrites the derived items of the layout before issue 16 (docs/architecture.md, "Moving a table
 * to this layout"): a one-off scan of old tag entries and marks, each moved by a conditional write
 * of what was read and then deleted, so a run cut short is finished by the next and a second run
 * finds nothing; then every tag's counter shards are set from their entries, one shard at a time.
 */
export const migrateDerivedLayout = async (
  deps: LayoutMigrationDeps,
  options: Omit<MigrationOptions, 'onPage'> & { onPage?: (progress: LayoutProgress) => void } = {},
): Promise<LayoutProgress> => {
  const progress: LayoutProgress = {
    scanned: 0,
    entries: 0,
    marks: 0,
    days: 0,
    tags: 0,
    repaired: 0,
    inFlight: 0,
  };
  const names = new Map<string, string>();
  let cursor = options.cursor;
  do {
    const page = await deps.store.scanLegacyDerived({
      limit: options.pageSize ?? 500,
      ...(cursor ? { cursor } : {}),
    });
    const marks: Extract<LegacyDerived, { kind: 'mark' }>[] = [];
    const days: Extract<LegacyDerived, { kind: 'day' }>[] = [];
    for (const item of page.items) {
      progress.scanned++;
      if (item.kind === 'mark') marks.push(item);
      else if (item.kind === 'day') days.push(item);
      else {
        names.set(item.slug, item.event.tags.find((t) => t.slug === item.slug)?.name ?? item.slug);
        if (!options.dryRun) await deps.store.moveLegacyEntry(item);
        progress.entries++;
      }
    }
    if (marks.length > 0 && !options.dryRun) await deps.store.moveLegacyMarks(marks);
    progress.marks += marks.length;
    if (days.length > 0 && !options.dryRun) await deps.store.moveLegacyDays(days);
    progress.days += days.length;
    cursor = page.cursor;
    if (cursor) progress.cursor = cursor;
    else delete progress.cursor;
    options.onPage?.({ ...progress });
  } while (cursor);

  if (options.dryRun) return progress;
  for (const { slug, name } of await deps.store.listTagNames()) names.set(slug, name);
  for (const [slug, name] of names) {
    const shards: ShardAudit[] = await deps.store.auditTag(slug, true, name);
    await deps.store.refreshTagSummary(slug, name);
    progress.tags++;
    progress.repaired += shards.filter((s) => s.repaired).length;
    progress.inFlight += shards.filter((s) => s.inFlight > 0).length;
    if (progress.tags % 100 === 0) options.onPage?.({ ...progress });
  }
  options.onPage?.({ ...progress });
  return progress;
};
