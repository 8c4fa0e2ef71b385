/**
 * Links made by the code before key ids (commit 1afe799, shared/domain/tokens.ts), with a
 * plain-string secret as every deployment held then: pinned here so the compatibility tests check
 * real old tokens, not ones re-made by today's code.
 *
 * Made at 2026-03-01T09:00:00Z for `Legacy.Reader@Example.org` (tokenVersion 0): the manage and
 * unsubscribe links of an email (a year long, as then), and a confirmation link for syria, daily.
 */
export const LEGACY_SECRET = 'legacy-plain-secret-0123456789abcdefghijklmnopqrstuvwxyz';
export const LEGACY_EMAIL = 'Legacy.Reader@Example.org';
export const LEGACY_MADE_AT = '2026-03-01T09:00:00.000Z';
/** `subscriberIdOf(LEGACY_SECRET, LEGACY_EMAIL)` as the old code computed it. */
export const LEGACY_ID = 'edaca8c1bb43d3d66e5e8cc4ceffdc8f';
export const LEGACY_TOKENS = {
  manage:
    'eyJzdWIiOiJlZGFjYThjMWJiNDNkM2Q2NmU1ZThjYzRjZWZmZGM4ZiIsInYiOjAsImV4cCI6MTgwMzg5MTYwMCwicHVycG9zZSI6Im1hbmFnZSJ9.ZjKYNRM3V119NDK20MYA_IkweDlf98zF_t5A6KRKI5Y',
  unsubscribeAll:
    'eyJzdWIiOiJlZGFjYThjMWJiNDNkM2Q2NmU1ZThjYzRjZWZmZGM4ZiIsInYiOjAsImV4cCI6MTgwMzg5MTYwMCwicHVycG9zZSI6InVuc3Vic2NyaWJlIn0.IVraBD0Sr1dMElemyqd0sHWWd7YnDshKI6skC6W_ixY',
  unsubscribeSyria:
    'eyJzdWIiOiJlZGFjYThjMWJiNDNkM2Q2NmU1ZThjYzRjZWZmZGM4ZiIsInYiOjAsImV4cCI6MTgwMzg5MTYwMCwicHVycG9zZSI6InVuc3Vic2NyaWJlIiwidG9waWMiOiJzeXJpYSJ9.kGZB9ShuEBf8vi76ROEdFWJQYtcU1_l-dAdI5KJA9io',
  confirm:
    'eyJzdWIiOiJlZGFjYThjMWJiNDNkM2Q2NmU1ZThjYzRjZWZmZGM4ZiIsInB1cnBvc2UiOiJjb25maXJtIiwidiI6MCwiZXhwIjoxNzcyNTI4NDAwLCJ0b3BpY3MiOlsic3lyaWEiXSwiY2FkZW5jZSI6ImRhaWx5IiwiaWF0IjoxNzcyMzU1NjAwfQ.bRpa742fpxMbAUxzNmmOjGxa63JcZwbWZe2Srvjzcas',
} as const;
