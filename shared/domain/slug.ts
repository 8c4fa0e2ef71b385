/** Event slugs are cut here, as the seed archive's URLs are. */
export const EVENT_SLUG_MAX = 140;
/** Tag slugs are cut here: a tag's display name is at most 64 characters. */
export const TAG_SLUG_MAX = 64;

/** Latin letters that Unicode decomposition leaves whole, spelled the way their languages transliterate them. */
const FOLD: Record<string, string> = {
  Æ: 'AE',
  æ: 'ae',
  Ø: 'O',
  ø: 'o',
  ß: 'ss',
  Œ: 'OE',
  œ: 'oe',
  Đ: 'D',
  đ: 'd',
  Ł: 'L',
  ł: 'l',
  Þ: 'TH',
  þ: 'th',
  Ð: 'D',
  ð: 'd',
  ı: 'i',
};

/**
 * ASCII URL slug of a text, reproducing the seed archive: accents and ligatures folded, lowercased, every
 * character that is not a-z or 0-9 turned into a hyphen, cut at `max`, and only then runs of
 * hyphens collapsed and trimmed. Cutting before collapsing is what makes the archive's slugs
 * 139 characters long where the headline has ", " or ". " before the cut.
 */
export const slugify = (text: string, max: number): string =>
  text
    .replace(/[ÆæØøßŒœĐđŁłÞþÐðı]/g, (c) => FOLD[c] ?? c)
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '-')
    .slice(0, max)
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');

/**
 * Names the site gives its own pages at each level of its URL space, which no event, tag or topic
 * label may take: `news/YYYY/MM/DD/index.html` is a day's page beside its events'
 * `news/YYYY/MM/DD/<slug>.html`; `tags/index.html` lists the tags beside `tags/<slug>.html`; a
 * topic label's pages sit beside `topics/index.html`. A page added at a level adds its name
 * here, and `npm run migrate` moves what is already stored under it.
 */
export const RESERVED_SLUGS = {
  event: ['index'],
  tag: ['index'],
  topic: ['index'],
} as const satisfies Record<string, readonly string[]>;

export type SlugLevel = keyof typeof RESERVED_SLUGS;

/**
 * What a reserved slug becomes: the name with this appended (`index` → `index-1`). Fixed, so the
 * same headline or tag always gets the same slug and re-posting stays harmless.
 */
export const RESERVED_SUFFIX = '-1';

export const isReservedSlug = (level: SlugLevel, slug: string): boolean =>
  (RESERVED_SLUGS[level] as readonly string[]).includes(slug);

/** The slug itself, or, when the site uses it for a page of its own at that level, the slug with RESERVED_SUFFIX. */
export const unreservedSlug = (level: SlugLevel, slug: string): string =>
  isReservedSlug(level, slug) ? `${slug}${RESERVED_SUFFIX}` : slug;

/**
 * Where the site puts the pages of something stored under a reserved slug before the rule existed
 * (until `npm run migrate` moves it): a name no slug can have (slugs hold no `_`), so its pages can
 * never overwrite or delete the site's own page of that name.
 */
export const pageSlug = (level: SlugLevel, slug: string): string =>
  isReservedSlug(level, slug) ? `_${slug}` : slug;

export const tagSlug = (name: string): string => unreservedSlug('tag', slugify(name, TAG_SLUG_MAX));

/** The URL slug of a topic label, for pages and feeds per topic label. */
export const topicSlug = (label: string): string => unreservedSlug('topic', slugify(label, TAG_SLUG_MAX));

/** The stable part of a URL slug: lowercase ASCII words joined by single hyphens. */
export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
