import type { Tag } from './event.js';
import {
  type EventSummary,
  latestFirst,
  newestFirst,
  RELATED_CANDIDATES_PER_TAG,
  RELATED_LIMIT,
  type RelatedEvent,
} from './related.js';

/** A tag as the index knows it: its events, newest first (`latestFirst`), by position. */
export interface IndexedTag extends Tag {
  /** Positions in `SiteIndex.events`, ascending, so newest first. */
  events: readonly number[];
}

/**
 * Every listing of the site, derived in memory from the summaries of all live events: what a full
 * publish builds day pages, tag pages, feeds' membership and every "Related" list from, instead of
 * one store query per tag and per event. Events are referred to by position (an integer), tags by
 * number, so the 100,000-event index is a few arrays and "Related" is integer work.
 *
 * It gives the same answers as the store's listings: a tag's newest events are its entries' order
 * (`latestFirst`), and `related` is `relatedEvents` over the newest `RELATED_CANDIDATES_PER_TAG` of
 * each of the event's tags.
 */
export class SiteIndex {
  /** Every event, newest first (`latestFirst`). */
  readonly events: readonly EventSummary[];
  readonly tags: readonly IndexedTag[];
  private readonly positions = new Map<string, number>();
  private readonly tagNumbers = new Map<string, number>();
  /** Each event's tag numbers, in the event's order: `tagsOf[i]`. */
  private readonly tagsOf: Int32Array[];
  /** Each event's place in `newestFirst` order: ties in "Related" go to the lower rank. */
  private readonly rank: Int32Array;
  /** Scratch for `related`: the last call that saw each event (so a candidate counts once) and each tag. */
  private readonly seen: Int32Array;
  private readonly ownTag: Int32Array;
  private calls = 0;

  constructor(summaries: Iterable<EventSummary>) {
    const unique = new Map<string, EventSummary>();
    for (const summary of summaries) unique.set(summary.id, summary);
    const events = [...unique.values()].sort(latestFirst);
    this.events = events;
    const members: number[][] = [];
    const tags: IndexedTag[] = [];
    this.tagsOf = events.map((event, position) => {
      this.positions.set(event.id, position);
      const numbers = new Int32Array(event.tags.length);
      event.tags.forEach((tag, k) => {
        let number = this.tagNumbers.get(tag.slug);
        if (number === undefined) {
          number = tags.length;
          this.tagNumbers.set(tag.slug, number);
          members.push([]);
          // The name as the newest event spells it, like the tag page built from its entries.
          tags.push({ slug: tag.slug, name: tag.name, events: members[number] as number[] });
        }
        numbers[k] = number;
        (members[number] as number[]).push(position);
      });
      return numbers;
    });
    this.tags = tags;
    this.rank = new Int32Array(events.length);
    events
      .map((_, position) => position)
      .sort((a, b) => newestFirst(events[a] as EventSummary, events[b] as EventSummary))
      .forEach((position, rank) => {
        this.rank[position] = rank;
      });
    this.seen = new Int32Array(events.length);
    this.ownTag = new Int32Array(tags.length);
  }

  get size(): number {
    return this.events.length;
  }

  positionOf(id: string): number | undefined {
    return this.positions.get(id);
  }

  tag(slug: string): IndexedTag | undefined {
    const number = this.tagNumbers.get(slug);
    return number === undefined ? undefined : this.tags[number];
  }

  /** The newest `limit` events of a tag (all of them without a limit). */
  eventsOfTag(slug: string, limit = Number.POSITIVE_INFINITY): EventSummary[] {
    const tag = this.tag(slug);
    return tag ? tag.events.slice(0, limit).map((p) => this.events[p] as EventSummary) : [];
  }

  /** Each day with its events. */
  days(): Map<string, EventSummary[]> {
    const days = new Map<string, EventSummary[]>();
    for (const event of this.events) {
      const day = days.get(event.date);
      if (day) day.push(event);
      else days.set(event.date, [event]);
    }
    return days;
  }

  /**
   * The "Related" list of the event at `position`: `relatedEvents(event, candidates)` where the
   * candidates are the newest `candidatesPerTag` of each of its tags.
   */
  related(
    position: number,
    limit = RELATED_LIMIT,
    candidatesPerTag = RELATED_CANDIDATES_PER_TAG,
  ): RelatedEvent[] {
    const own = this.tagsOf[position];
    const event = this.events[position];
    const keep = Math.floor(limit);
    if (!own || !event || own.length === 0 || !(keep > 0)) return [];
    const call = ++this.calls;
    const { seen, ownTag, rank, tagsOf } = this;
    seen[position] = call;
    for (let t = 0; t < own.length; t++) ownTag[own[t] as number] = call;
    // The best `keep` so far, best first, as parallel arrays: position, shared tags, rank.
    const best: number[] = [];
    const shares: number[] = [];
    const ranks: number[] = [];
    for (let t = 0; t < own.length; t++) {
      const members = (this.tags[own[t] as number] as IndexedTag).events;
      const end = Math.min(members.length, candidatesPerTag);
      for (let k = 0; k < end; k++) {
        const candidate = members[k] as number;
        if (seen[candidate] === call) continue;
        seen[candidate] = call;
        const theirs = tagsOf[candidate] as Int32Array;
        let shared = 0;
        for (let i = 0; i < theirs.length; i++) if (ownTag[theirs[i] as number] === call) shared++;
        const order = rank[candidate] as number;
        // Insertion into the short list: more shared tags first, then the newer (lower rank).
        let at = best.length;
        while (
          at > 0 &&
          (shared > (shares[at - 1] as number) ||
            (shared === shares[at - 1] && order < (ranks[at - 1] as number)))
        )
          at--;
        if (at >= keep) continue;
        best.splice(at, 0, candidate);
        shares.splice(at, 0, shared);
        ranks.splice(at, 0, order);
        if (best.length > keep) {
          best.pop();
          shares.pop();
          ranks.pop();
        }
      }
    }
    return best.map((candidate) => {
      const theirs = tagsOf[candidate] as Int32Array;
      return {
        event: this.events[candidate] as EventSummary,
        sharedTags: event.tags.filter((_, k) => theirs.includes(own[k] as number)),
      };
    });
  }
}
