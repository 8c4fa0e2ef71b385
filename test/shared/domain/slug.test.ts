import { describe, expect, it } from 'vitest';
import { eventIdFor } from '../../../shared/domain/event.js';
import { slugify, tagSlug } from '../../../shared/domain/slug.js';

// The seed archive entry and its five related events: headline → the id the archive gives it.
const SEED_IDS: [date: string, headline: string, id: string][] = [
  [
    '2016-11-16',
    "Russian President Vladimir Putin signs a symbolic order to withdraw Russia's signature from the Rome Statute of the International Criminal Court (ICC) amid calls by pro-rebel western Non-governmental organisations for an investigation into alleged Russian war crimes in Syria. ",
    '2016/11/16/russian-president-vladimir-putin-signs-a-symbolic-order-to-withdraw-russia-s-signature-from-the-rome-statute-of-the-international-criminal-c',
  ],
  [
    '2015-12-09',
    'Russian President Vladimir Putin says he hopes nuclear warheads will not be needed to deal with terrorists, after Russia launched cruise missiles at Islamic State positions in Syria from one of its Kilo-class submarines in the Mediterranean. ',
    '2015/12/09/russian-president-vladimir-putin-says-he-hopes-nuclear-warheads-will-not-be-needed-to-deal-with-terrorists-after-russia-launched-cruise-mis',
  ],
  [
    '2018-01-30',
    'Reports surface about the publication on January 29 by the United States of a list of Russian politicians and oligarchs that the U.S. government was required by CAATSA to draw up. Russian President Vladimir Putin says that the list, on which he is not included, is an "unfriendly act" that complicates ties between the two countries. ',
    '2018/01/30/reports-surface-about-the-publication-on-january-29-by-the-united-states-of-a-list-of-russian-politicians-and-oligarchs-that-the-u-s-govern',
  ],
  [
    '2016-12-29',
    'Russian president Vladimir Putin says a ceasefire has been brokered between the Syrian government and rebel forces. The ceasefire is said to be guaranteed by Russia and Turkey and would exclude UN-denominated terror organizations such as ISIL and al-Nusra. The FSA says it would abide by the truce, while Ahrar al-Sham expresses "reservations". ',
    '2016/12/29/russian-president-vladimir-putin-says-a-ceasefire-has-been-brokered-between-the-syrian-government-and-rebel-forces-the-ceasefire-is-said-to',
  ],
  [
    '2016-08-27',
    'A fire at a warehouse in Moscow, Russia, kills at least 17 people, all migrant workers from Kyrgyzstan. The Investigative Committee of Russia, which reports directly to President Vladimir Putin, says a criminal inquiry has been launched. ',
    '2016/08/27/a-fire-at-a-warehouse-in-moscow-russia-kills-at-least-17-people-all-migrant-workers-from-kyrgyzstan-the-investigative-committee-of-russi',
  ],
  [
    '2016-07-31',
    'Democratic presidential election nominee Hillary Clinton accuses Russian intelligence services of being behind recent hacks into Democratic National Committee computers, while also accusing Republican presidential nominee Donald Trump of supporting Russian President Vladimir Putin. ',
    '2016/07/31/democratic-presidential-election-nominee-hillary-clinton-accuses-russian-intelligence-services-of-being-behind-recent-hacks-into-democratic',
  ],
];

describe('event ids reproduce the seed archive', () => {
  it.each(SEED_IDS)('%s: %s', (date, headline, id) => {
    expect(eventIdFor(date, headline)).toBe(id);
  });

  it('cuts before collapsing, so ", " before the cut leaves 139 characters', () => {
    expect(SEED_IDS.map(([, , id]) => id.split('/')[3]?.length)).toEqual([140, 139, 139, 139, 136, 139]);
  });
});

describe('slugify', () => {
  it.each([
    ['Hello, World!', 'hello-world'],
    ['  --Leading and trailing--  ', 'leading-and-trailing'],
    ['Île-de-France', 'ile-de-france'],
    ['São Paulo', 'sao-paulo'],
    ['Zürich & Genève', 'zurich-geneve'],
    ['Ærø', 'aero'],
    ['Łódź', 'lodz'],
    ['Straße', 'strasse'],
    ['ﬁnance', 'finance'],
    ['U.S. government', 'u-s-government'],
    ['C++ / C#', 'c-c'],
    ['2016 in review', '2016-in-review'],
    ['Emoji 🎉 party', 'emoji-party'],
    ['中文', ''],
    ['!!!', ''],
  ])('%j → %j', (text, slug) => {
    expect(slugify(text, 140)).toBe(slug);
  });

  it('is stable: the same name always gives the same tag slug', () => {
    expect(tagSlug('Vladimir Putin')).toBe('vladimir-putin');
    expect(tagSlug('vladimir  putin')).toBe(tagSlug('Vladimir Putin'));
    expect(tagSlug('Russian President')).toBe('russian-president');
  });

  it('never exceeds the cap and never ends in a hyphen', () => {
    const slug = tagSlug(`${'word '.repeat(20)}`);
    expect(slug.length).toBeLessThanOrEqual(64);
    expect(slug).not.toMatch(/^-|-$/);
  });

  it('gives headlines without Latin letters a stable hashed id', () => {
    const id = eventIdFor('2016-11-16', '普京签署命令');
    expect(id).toMatch(/^2016\/11\/16\/event-[0-9a-f]{12}$/);
    expect(eventIdFor('2016-11-16', '普京签署命令')).toBe(id);
  });
});
