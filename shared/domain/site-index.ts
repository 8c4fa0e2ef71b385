import type { Tag } from './event.js';
import {
  type EventSummary,
  latestFirst,
  newestFirst,
  RELATED_CANDIDATES_PER_TAG,
  RELATED_LIMIT,
  type RelatedEvent,
} from './related.js';

/** What the index keeps of an event: what listings and "Related" show. */
export type IndexedEvent = Pick<EventSummary, 'id' | 'date' | 'headline' | 'topic' | 'publishedAt' | 'tags'>;

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
  readonly events: readonly IndexedEvent[];
  readonly tags: readonly IndexedTag[];
  private readonly positions = new Map<string, number>();
  private readonly tagNumbers = new Map<string, number>();
  /** Each event's tag numbers, in the event's order: `tagList[tagStart[i]]` to `tagList[tagStart[i + 1] - 1]`. */
  private readonly tagStart: Int32Array;
  private readonly tagList: Int32Array;
  /** Each event's place in `newestFirst` order: ties in "Related" go to the lower rank. */
  private readonly rank: Int32Array;
  /** Scratch for `related`: the last call that saw each event (so a candidate counts once) and each tag. */
  private readonly seen: Int32Array;
  private readonly ownTag: Int32Array;
  private calls = 0;

  constructor(summaries: Iterable<EventSummary>) {
    // Kept compact: only what listings need, and the strings many events share (days, topics, tags)
    // held once, so 100,000 events cost tens of megabytes.
    const shared = new Map<string, string>();
    const once = (value: string) => {
      const known = shared.get(value);
      if (known !== undefined) return known;
      shared.set(value, value);
      return value;
    };
    const sharedTags = new Map<string, Tag>();
    const tagOnce = (tag: Tag): Tag => {
      const key = `${tag.slug}\n${tag.name}`;
      let known = sharedTags.get(key);
      if (!known) {
        known = { slug: once(tag.slug), name: once(tag.name) };
        sharedTags.set(key, known);
      }
      return known;
    };
    const unique = new Map<string, IndexedEvent>();
    for (const summary of summaries) {
      const event: IndexedEvent = {
        id: summary.id,
        date: once(summary.date),
        headline: summary.headline,
        publishedAt: summary.publishedAt,
        tags: summary.tags.map(tagOnce),
      };
      if (summary.topic !== undefined) event.topic = once(summary.topic);
      unique.set(summary.id, event);
    }
    const events = [...unique.values()].sort(latestFirst);
    this.events = events;
    const members: number[][] = [];
    const tags: IndexedTag[] = [];
    this.tagStart = new Int32Array(events.length + 1);
    this.tagList = new Int32Array(events.reduce((n, e) => n + e.tags.length, 0));
    events.forEach((event, position) => {
      this.positions.set(event.id, position);
      const start = this.tagStart[position] as number;
      this.tagStart[position + 1] = start + event.tags.length;
      event.tags.forEach((tag, k) => {
        let number = this.tagNumbers.get(tag.slug);
        if (number === undefined) {
          number = tags.length;
          this.tagNumbers.set(tag.slug, number);
          members.push([]);
          // The name as the newest event spells it, like the tag page built from its entries.
          tags.push({ slug: tag.slug, name: tag.name, events: members[number] as number[] });
        }
        this.tagList[start + k] = number;
        (members[number] as number[]).push(position);
      });
    });
    this.tags = tags;
    this.rank = new Int32Array(events.length);
    events
      .map((_, position) => position)
      .sort((a, b) => newestFirst(events[a] as IndexedEvent, events[b] as IndexedEvent))
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
  eventsOfTag(slug: string, limit = Number.POSITIVE_INFINITY): IndexedEvent[] {
    const tag = this.tag(slug);
    return tag ? tag.events.slice(0, limit).map((p) => this.events[p] as IndexedEvent) : [];
  }

  /** Each day with its events. */
  days(): Map<string, IndexedEvent[]> {
    const days = new Map<string, IndexedEvent[]>();
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
  ): RelatedEvent<IndexedEvent>[] {
    const event = this.events[position];
    const keep = Math.floor(limit);
    if (!event || event.tags.length === 0 || !(keep > 0)) return [];
    const { seen, ownTag, rank, tagStart, tagList } = this;
    const own = tagList.subarray(tagStart[position], tagStart[position + 1]);
    const call = ++this.calls;
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
        let shared = 0;
        const end = tagStart[candidate + 1] as number;
        for (let i = tagStart[candidate] as number; i < end; i++)
          if (ownTag[tagList[i] as number] === call) shared++;
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
      const theirs = tagList.subarray(tagStart[candidate], tagStart[candidate + 1]);
      return {
        event: this.events[candidate] as IndexedEvent,
        sharedTags: event.tags.filter((_, k) => theirs.includes(own[k] as number)),
      };
    });
  }
}
