import { describe, expect, it } from 'vitest';
import { canonicalMailbox } from '../../../shared/domain/mailbox.js';

describe('canonicalMailbox', () => {
  it.each([
    ['lowercases the whole address', 'Reader@Example.ORG', 'reader@example.org'],
    ['trims surrounding space', '  reader@example.org ', 'reader@example.org'],
    ['drops the +suffix of the local part', 'victim+1@example.org', 'victim@example.org'],
    ['drops everything after the first +', 'victim+a+b@example.org', 'victim@example.org'],
    ['keeps an empty suffix out too', 'victim+@example.org', 'victim@example.org'],
    ['keeps a local part that is only a +suffix', '+tag@example.org', '+tag@example.org'],
    ['keeps dots outside gmail', 'j.doe@example.org', 'j.doe@example.org'],
    ['drops dots at gmail.com', 'J.Doe@gmail.com', 'jdoe@gmail.com'],
    ['reads googlemail.com as gmail.com', 'jdoe@googlemail.com', 'jdoe@gmail.com'],
    ['drops dots and suffix at googlemail.com', 'j.d.o.e+news@GoogleMail.com', 'jdoe@gmail.com'],
    ['ignores a trailing dot of the domain', 'reader@example.org.', 'reader@example.org'],
    ['leaves other providers alone', 'jdoe@gmail.co.uk', 'jdoe@gmail.co.uk'],
    ['splits at the last @ (a quoted local part may hold one)', '"a@b"+x@example.org', '"a@b"@example.org'],
  ])('%s: %s → %s', (_, input, expected) => {
    expect(canonicalMailbox(input)).toBe(expected);
  });

  it('maps the issue example (victim+1 … victim+6) to one mailbox', () => {
    const forms = new Set(
      Array.from({ length: 6 }, (_, i) => canonicalMailbox(`victim+${i + 1}@example.org`)),
    );
    expect([...forms]).toEqual(['victim@example.org']);
  });
});
