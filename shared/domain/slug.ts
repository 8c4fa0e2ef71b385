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

export const tagSlug = (name: string): string => slugify(name, TAG_SLUG_MAX);

/** The stable part of a URL slug: lowercase ASCII words joined by single hyphens. */
export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
