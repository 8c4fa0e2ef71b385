import type { ListingStore, ShardAudit } from '../adapters/event-store.js';

export interface TagAudit {
  slug: string;
  name: string;
  shards: ShardAudit[];
}

export interface CountsReport {
  tags: number;
  /** Shards whose counter differed from their entries (repaired ones included). */
  wrong: number;
  repaired: number;
  /** Shards with a change in flight: not judged now; run again once the stream has caught up. */
  inFlight: number;
}

/**
 * Compares every tag's counter shards with the entries they count, one shard at a time (a COUNT of
 * that shard's entries: an operator's tool, never on the change path), and with `repair` sets each
 * wrong one from its entries (guarded by its version; a shard with a change in flight is left).
 * A repaired tag is marked, with the site, so the next publish shows its count (the publisher
 * reads counts only of tags marked since its last run).
 */
export const auditCounts = async (
  store: Pick<ListingStore, 'listTagNames' | 'auditTag' | 'refreshTagSummary' | 'markDirty'>,
  options: {
    repair: boolean;
    slugs?: readonly string[];
    onTag?: (audit: TagAudit) => void;
    now?: () => string;
  },
): Promise<CountsReport> => {
  const report: CountsReport = { tags: 0, wrong: 0, repaired: 0, inFlight: 0 };
  const names = await store.listTagNames();
  const wanted = options.slugs ? names.filter((t) => options.slugs?.includes(t.slug)) : names;
  for (const { slug, name } of wanted) {
    const shards = await store.auditTag(slug, options.repair, name);
    if (options.repair && shards.some((s) => s.repaired)) {
      await store.refreshTagSummary(slug, name);
      await store.markDirty(
        [
          { kind: 'tag', key: slug },
          { kind: 'site', key: 'all' },
        ],
        (options.now ?? (() => new Date().toISOString()))(),
      );
    }
    report.tags++;
    for (const s of shards) {
      if (s.inFlight > 0) report.inFlight++;
      else if (s.entries !== s.counted) report.wrong++;
      if (s.repaired) report.repaired++;
    }
    options.onTag?.({ slug, name, shards });
  }
  return report;
};
