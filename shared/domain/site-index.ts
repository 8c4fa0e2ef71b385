import type { Tag } from './event.js';
import {
  type EventSummary,
  latestFirst,
  newestFirst,
  RELATED_CANDIDATES_PER_TAG,
  RELATED_LIMIT,
  type RelatedEvent,
} from './related.js';

/**
 * A YYYY-MM-DD date as the number YYYYMMDD, which orders as the string does; 0 for anything else,
 * which "Related" then compares as a string.
 */
const dayNumber = (date: string): number =>
  /^\d{4}-\d{2}-\d{2}$/.test(date) ? Number(date.slice(0, 4) + date.slice(5, 7) + date.slice(8, 10)) : 0;

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
 *
 * It is built whole from summaries, or grows as a walk over the events in `latestFirst` order reads
 * them (`add`): a tag's newest events are then known as soon as that many of them were added, so
 * an event's "Related" list is known once each of its tags has (`relatedKnown`).
 */
export class SiteIndex {
  /** Every event, newest first (`latestFirst`). */
  readonly events: IndexedEvent[] = [];
  readonly tags: IndexedTag[] = [];
  private readonly members: number[][] = [];
  private readonly positions = new Map<string, number>();
  private readonly tagNumbers = new Map<string, number>();
  /** Each event's tag numbers, in the event's order: `tagList[tagStart[i]]` to `tagList[tagStart[i + 1] - 1]`. */
  private readonly tagStart: number[] = [0];
  private readonly tagList: number[] = [];
  /** Scratch for `related`: the last call that saw each event (so a candidate counts once) and each tag. */
  private readonly seen: number[] = [];
  private readonly ownTag: number[] = [];
  /** Each event's date as a number (`dayNumber`), so "Related" compares most candidates without strings. */
  private readonly dayNumbers: number[] = [];
  /** Each tag's candidates for "Related" (see `candidates`), once asked for. */
  private readonly blocks: ({ block: Int32Array; count: number; limit: number } | undefined)[] = [];
  private calls = 0;
  // Kept compact: only what listings need, and the strings many events share (days, topics, tags)
  // held once, so 100,000 events cost tens of megabytes.
  private readonly shared = new Map<string, string>();
  private readonly sharedTags = new Map<string, Tag>();

  constructor(summaries: Iterable<EventSummary> = []) {
    const unique = new Map<string, EventSummary>();
    for (const summary of summaries) unique.set(summary.id, summary);
    for (const summary of [...unique.values()].sort(latestFirst)) this.add(summary);
  }

  private once(value: string): string {
    const known = this.shared.get(value);
    if (known !== undefined) return known;
    this.shared.set(value, value);
    return value;
  }

  private tagOnce(tag: Tag): Tag {
    const key = `${tag.slug}\n${tag.name}`;
    let known = this.sharedTags.get(key);
    if (!known) {
      known = { slug: this.once(tag.slug), name: this.once(tag.name) };
      this.sharedTags.set(key, known);
    }
    return known;
  }

  /**
   * Adds the event after every event added so far, which must come before it in `latestFirst`
   * order, and returns its position. An event already added keeps its place.
   */
  add(summary: EventSummary): number {
    const known = this.positions.get(summary.id);
    if (known !== undefined) return known;
    const position = this.events.length;
    const event: IndexedEvent = {
      id: summary.id,
      date: this.once(summary.date),
      headline: summary.headline,
      publishedAt: summary.publishedAt,
      tags: summary.tags.map((tag) => this.tagOnce(tag)),
    };
    if (summary.topic !== undefined) event.topic = this.once(summary.topic);
    this.events.push(event);
    this.positions.set(event.id, position);
    this.seen.push(0);
    this.dayNumbers.push(dayNumber(event.date));
    for (const tag of event.tags) {
      let number = this.tagNumbers.get(tag.slug);
      if (number === undefined) {
        number = this.tags.length;
        this.tagNumbers.set(tag.slug, number);
        const members: number[] = [];
        this.members.push(members);
        // The name as the newest event spells it, like the tag page built from its entries.
        this.tags.push({ slug: tag.slug, name: tag.name, events: members });
        this.ownTag.push(0);
      }
      this.tagList.push(number);
      (this.members[number] as number[]).push(position);
    }
    this.tagStart.push(this.tagList.length);
    return position;
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
   * Whether `related(position)` is final while events are still being added: each of the event's
   * tags has its newest `candidatesPerTag` events added. (Once every event is added, it always is.)
   */
  relatedKnown(position: number, candidatesPerTag = RELATED_CANDIDATES_PER_TAG): boolean {
    return this.tagsShortOf(position, candidatesPerTag).length === 0;
  }

  /**
   * The newest `candidatesPerTag` events of tag `t`, each as its position, its day number, how many
   * tags it has and their numbers, one after the other: "Related" reads a tag's candidates from one
   * block of memory instead of from arrays as long as the site. Kept until the tag gains an event
   * among its newest (only while it has fewer than `candidatesPerTag`).
   */
  private candidates(t: number, candidatesPerTag: number): Int32Array {
    const members = this.members[t] as number[];
    const count = Math.min(members.length, candidatesPerTag);
    const known = this.blocks[t];
    if (known && known.count === count && known.limit === candidatesPerTag) return known.block;
    const { tagStart, tagList, dayNumbers } = this;
    let size = 0;
    for (let k = 0; k < count; k++) {
      const p = members[k] as number;
      size += 3 + (tagStart[p + 1] as number) - (tagStart[p] as number);
    }
    const block = new Int32Array(size);
    let at = 0;
    for (let k = 0; k < count; k++) {
      const p = members[k] as number;
      const from = tagStart[p] as number;
      const to = tagStart[p + 1] as number;
      block[at++] = p;
      block[at++] = dayNumbers[p] as number;
      block[at++] = to - from;
      for (let i = from; i < to; i++) block[at++] = tagList[i] as number;
    }
    this.blocks[t] = { block, count, limit: candidatesPerTag };
    return block;
  }

  /** Numbers of the event's tags (their places in `tags`), in the event's order. */
  tagNumbersOf(position: number): number[] {
    return this.tagList.slice(this.tagStart[position], this.tagStart[position + 1]);
  }

  /** Numbers of the event's tags with fewer than `count` events added so far. */
  tagsShortOf(position: number, count: number): number[] {
    const short: number[] = [];
    const end = this.tagStart[position + 1] as number;
    for (let i = this.tagStart[position] as number; i < end; i++) {
      const number = this.tagList[i] as number;
      if ((this.members[number] as number[]).length < count) short.push(number);
    }
    return short;
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
    const { seen, ownTag, tagStart, tagList, events } = this;
    const own = tagList.slice(tagStart[position], tagStart[position + 1]);
    const call = ++this.calls;
    seen[position] = call;
    for (const t of own) ownTag[t] = call;
    // The best `keep` so far, best first, as parallel arrays: position, shared tags and day number.
    const best: number[] = [];
    const shares: number[] = [];
    const days: number[] = [];
    for (const t of own) {
      const block = this.candidates(t, candidatesPerTag);
      for (let at = 0; at < block.length; ) {
        const candidate = block[at] as number;
        const day = block[at + 1] as number;
        const count = block[at + 2] as number;
        const first = at + 3;
        at = first + count;
        if (seen[candidate] === call) continue;
        seen[candidate] = call;
        let shared = 0;
        for (let i = first; i < at; i++) if (ownTag[block[i] as number] === call) shared++;
        // Insertion into the short list: more shared tags first, then the newer (`newestFirst`).
        let place = best.length;
        while (place > 0) {
          const theirs = shares[place - 1] as number;
          if (shared < theirs) break;
          if (shared === theirs) {
            const other = best[place - 1] as number;
            const otherDay = days[place - 1] as number;
            if (day === otherDay || day === 0 || otherDay === 0) {
              if (newestFirst(events[candidate] as IndexedEvent, events[other] as IndexedEvent) >= 0) break;
            } else if (day < otherDay) break;
          }
          place--;
        }
        if (place >= keep) continue;
        best.splice(place, 0, candidate);
        shares.splice(place, 0, shared);
        days.splice(place, 0, day);
        if (best.length > keep) {
          best.pop();
          shares.pop();
          days.pop();
        }
      }
    }
    return best.map((candidate) => {
      const theirs = tagList.slice(tagStart[candidate], tagStart[candidate + 1]);
      return {
        event: events[candidate] as IndexedEvent,
        sharedTags: event.tags.filter((_, k) => theirs.includes(own[k] as number)),
      };
    });
  }
}
