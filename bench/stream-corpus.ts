/**
 * The stream benchmark's corpus: live news as an archive-scale feed sees it. Seeded, so the same
 * seed and day give the same events on any machine and at any revision (the before/after
 * comparison posts the very same corpus to both).
 */
import { distinct, rng, zipf } from './random.js';

export interface CorpusOptions {
  events: number;
  tags: number;
  seed: number;
  /** UTC day the corpus is "live" on, YYYY-MM-DD. */
  today: string;
  /** Share of events carrying the head tag. */
  headShare?: number;
  /** Share of events dated today; the rest spread over the 29 days before. */
  todayShare?: number;
  /** Days back the rest of the events spread over (today included in the span). */
  days?: number;
}

export interface BenchEvent {
  id: string;
  date: string;
  headline: string;
  body: string;
  topic: string;
  tags: string[];
  sources: { name: string; url: string }[];
}

export const DEFAULT_HEAD_SHARE = 0.5;
export const DEFAULT_TODAY_SHARE = 0.7;
export const DEFAULT_DAYS = 30;

const PLACES = [
  'Europe',
  'Asia',
  'Africa',
  'Americas',
  'Middle East',
  'Pacific',
  'Arctic',
  'Balkans',
  'Caribbean',
  'Sahel',
  'Andes',
  'Baltic',
  'Nordic',
  'Iberia',
  'Alps',
  'Gulf',
  'Levant',
  'Maghreb',
  'Caucasus',
  'Amazon',
  'Mekong',
  'Danube',
  'Rhine',
  'Nile',
  'Ganges',
  'Yangtze',
  'Mississippi',
  'Congo',
  'Patagonia',
  'Siberia',
  'Anatolia',
  'Bengal',
  'Punjab',
  'Sichuan',
  'Bavaria',
  'Catalonia',
  'Quebec',
  'Ontario',
  'Texas',
  'California',
  'Scotland',
  'Wales',
  'Flanders',
  'Lombardy',
  'Sicily',
  'Crete',
  'Cyprus',
  'Malta',
  'Iceland',
  'Greenland',
];
const SUBJECTS = [
  'politics',
  'elections',
  'economy',
  'climate',
  'energy',
  'health',
  'science',
  'technology',
  'culture',
  'sport',
  'football',
  'trade',
  'migration',
  'security',
  'diplomacy',
  'justice',
  'education',
  'transport',
  'housing',
  'agriculture',
  'fisheries',
  'weather',
  'floods',
  'wildfires',
  'earthquakes',
  'labour',
  'strikes',
  'banking',
  'markets',
  'space',
  'aviation',
  'shipping',
  'tourism',
  'religion',
  'media',
  'music',
  'film',
  'literature',
  'archaeology',
  'wildlife',
];
const WORDS = (
  'the a minister council government talks agreement report officials said on after before during ' +
  'regional national local leaders announced plan budget vote parliament court ruling protest ' +
  'company market prices growth inflation rate storm river city village border crisis aid ' +
  'investigation police hospital school university researchers study results season league match ' +
  'final record deal sanctions summit ceasefire election campaign poll turnout reform tax law'
).split(' ');
const OUTLETS = ['Wire', 'Gazette', 'Herald', 'Courier', 'Observer', 'Chronicle', 'Tribune', 'Post'];

/** The n-th tag's name: 2,000 distinct, readable names ("Europe politics"), index 0 the head. */
export const tagName = (index: number): string => {
  const place = PLACES[index % PLACES.length] as string;
  const subject = SUBJECTS[Math.floor(index / PLACES.length) % SUBJECTS.length] as string;
  const round = Math.floor(index / (PLACES.length * SUBJECTS.length));
  return round === 0 ? `${place} ${subject}` : `${place} ${subject} ${round + 1}`;
};

/** `YYYY-MM-DD` `days` before `today`. */
export const daysBefore = (today: string, days: number): string =>
  new Date(Date.parse(`${today}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);

const sentence = (random: () => number, words: number): string => {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(random() * WORDS.length)] as string);
  const text = out.join(' ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
};

const paragraph = (random: () => number): string =>
  Array.from({ length: 3 + Math.floor(random() * 2) }, () =>
    sentence(random, 10 + Math.floor(random() * 10)),
  ).join(' ');

/**
 * `events` events over `tags` tags: the head tag on `headShare` of them, each with 3 to 5 tags, the
 * others drawn with Zipf popularity (s = 1) from the rest; `todayShare` dated today, the rest spread
 * evenly over the days before, back to `days` - 1; a headline, a body of 3 to 5 paragraphs and
 * 1 to 3 sources each (about 1.7 KB as JSON, a wire story's summary).
 */
export const makeCorpus = (options: CorpusOptions): BenchEvent[] => {
  const {
    events,
    tags,
    seed,
    today,
    headShare = DEFAULT_HEAD_SHARE,
    todayShare = DEFAULT_TODAY_SHARE,
    days = DEFAULT_DAYS,
  } = options;
  if (tags < 6) throw new Error('the corpus needs at least 6 tags (the head and 3 to 5 others)');
  const random = rng(seed);
  // The rest of the tags (1 … tags-1), most popular first.
  const drawRest = zipf(tags - 1, random);
  return Array.from({ length: events }, (_, i) => {
    const tagCount = 3 + Math.floor(random() * 3);
    const head = random() < headShare;
    const rest = distinct(head ? tagCount - 1 : tagCount, () => drawRest() + 1);
    const chosen = head ? [0, ...rest] : rest;
    const date = random() < todayShare ? today : daysBefore(today, 1 + Math.floor(random() * (days - 1)));
    const sources = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, s) => {
      const outlet = OUTLETS[Math.floor(random() * OUTLETS.length)] as string;
      return {
        name: `${outlet} ${s + 1}`,
        url: `https://news.example.org/${outlet.toLowerCase()}/story/${i}-${s}`,
      };
    });
    return {
      id: `${date.replaceAll('-', '/')}/bench-${i}`,
      date,
      headline: `${sentence(random, 10 + Math.floor(random() * 8)).slice(0, -1)} (${i})`,
      body: Array.from({ length: 3 + Math.floor(random() * 3) }, () => paragraph(random)).join('\n\n'),
      topic: SUBJECTS[Math.floor(random() * SUBJECTS.length)] as string,
      tags: chosen.map(tagName),
      sources,
    };
  });
};

export interface Correction {
  index: number;
  event: BenchEvent;
}

/**
 * Corrections of `count` distinct events: a headline and a paragraph rewritten, and on one in four a
 * tag replaced by another (a correction that moves the event between listings).
 */
export const makeCorrections = (
  corpus: BenchEvent[],
  count: number,
  options: { tags: number; seed: number },
): Correction[] => {
  const random = rng(options.seed ^ 0x5eed);
  const drawTag = zipf(options.tags - 1, random);
  const picked = distinct(Math.min(count, corpus.length), () => Math.floor(random() * corpus.length));
  return picked.map((index, k) => {
    const original = corpus[index] as BenchEvent;
    let tags = original.tags;
    if (k % 4 === 0) {
      let replacement = tagName(drawTag() + 1);
      while (tags.includes(replacement)) replacement = tagName(drawTag() + 1);
      tags = [...tags.slice(0, -1), replacement];
    }
    const paragraphs = original.body.split('\n\n');
    paragraphs[0] = paragraph(random);
    return {
      index,
      event: {
        ...original,
        headline: `${original.headline} (corrected)`,
        body: paragraphs.join('\n\n'),
        tags,
      },
    };
  });
};

/** How many events each tag name should list once `events` are all projected. */
export const expectedCounts = (events: Iterable<BenchEvent>): Map<string, Set<string>> => {
  const byTag = new Map<string, Set<string>>();
  for (const event of events) {
    for (const tag of event.tags) {
      const ids = byTag.get(tag) ?? new Set<string>();
      byTag.set(tag, ids);
      ids.add(event.id);
    }
  }
  return byTag;
};
