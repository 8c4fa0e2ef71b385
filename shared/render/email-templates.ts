/**
 * Eta templates of the HTML emails, kept as strings so esbuild bundles them with the code that
 * renders them. emails.ts compiles each once at module load.
 *
 * The same rules as the site's templates: every value is written with `<%= %>` (escaped for text
 * and quoted attributes); the only raw outputs (`<%~ %>`) are `it.content` and `it.footer` in the
 * layout, both HTML the engine itself rendered. Every URL arrives absolute, precomputed by
 * emails.ts. Control tags (`<% %>`) start their line.
 *
 * Email clients drop `<style>` blocks and most CSS, so styles are inline and the layout is one
 * plain column of blocks: no tables, no images, nothing that needs a stylesheet.
 */

const FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const LINK = 'color:#0b57d0';
const MUTED = 'color:#5a5a5a;font-size:14px';
const STYLE = {
  body: 'margin:0;padding:0;background:#f4f4f4',
  page: `max-width:600px;margin:0 auto;padding:20px 16px 28px;background:#ffffff;color:#1b1b1b;${FONT};font-size:16px;line-height:1.5`,
  brand: 'color:#1b1b1b;font-weight:700;text-decoration:none',
  h1: 'font-size:22px;line-height:1.3;margin:12px 0 8px',
  h2: 'font-size:18px;line-height:1.3;margin:28px 0 2px;padding-top:12px;border-top:1px solid #dddddd',
  muted: `margin:0 0 12px;${MUTED}`,
  item: 'margin:0 0 18px',
  headline: 'margin:0;font-weight:600',
  meta: `margin:2px 0 0;${MUTED}`,
  updated: 'color:#8a4b00;font-weight:700',
  summary: 'margin:4px 0 0',
  more: 'margin:0 0 8px;font-weight:600',
  p: 'margin:0 0 12px',
  button:
    'display:inline-block;padding:10px 18px;border-radius:6px;background:#0b57d0;color:#ffffff;font-weight:600;text-decoration:none',
  footer: `margin-top:32px;padding-top:12px;border-top:1px solid #dddddd;${MUTED}`,
  footerP: 'margin:0 0 8px',
};

/** The shell every email shares: the site's name, the content, a footer of small print. */
export const EMAIL_LAYOUT = `<!DOCTYPE html>
<html lang="<%= it.lang %>">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title><%= it.title %></title>
</head>
<body style="${STYLE.body}">
<div style="${STYLE.page}">
<p style="margin:0"><a href="<%= it.siteUrl %>" style="${STYLE.brand}"><%= it.siteTitle %></a></p>
<%~ it.content %>
<% if (it.footer) { %>
<div style="${STYLE.footer}">
<%~ it.footer %>
</div>
<% } %>
</div>
</body>
</html>
`;

/** A digest: the window, then each tag and topic with its events and the link to the ones left out. */
export const DIGEST_CONTENT = `<h1 style="${STYLE.h1}"><%= it.heading %></h1>
<p style="${STYLE.muted}"><%= it.summary %></p>
<% for (const section of it.sections) { %>
<h2 style="${STYLE.h2}"><%= section.name %></h2>
<p style="${STYLE.muted}"><a href="<%= section.pageUrl %>" style="${LINK}">All <%= section.name %> events</a> · <a href="<%= section.feedUrl %>" style="${LINK}">RSS feed</a></p>
<% for (const item of section.items) { %>
<div style="${STYLE.item}">
<p style="${STYLE.headline}"><a href="<%= item.url %>" style="${LINK}"><%= item.headline %></a></p>
<p style="${STYLE.meta}">
<% if (item.updated) { %>
<strong style="${STYLE.updated}">Updated</strong> ·
<% } %>
<%= item.meta %></p>
<% if (item.summary) { %>
<p style="${STYLE.summary}"><%= item.summary %></p>
<% } %>
</div>
<% } %>
<% if (section.more) { %>
<p style="${STYLE.more}"><a href="<%= section.more.url %>" style="${LINK}"><%= section.more.label %></a></p>
<% } %>
<% } %>
`;

/** The digest's small print: why it came, and every way out. */
export const DIGEST_FOOTER = `<p style="${STYLE.footerP}"><%= it.reason %></p>
<p style="${STYLE.footerP}"><a href="<%= it.manage %>" style="${LINK}">Manage your subscription</a> · <a href="<%= it.unsubscribeAll %>" style="${LINK}">Unsubscribe from everything</a></p>
<p style="${STYLE.footerP}"><a href="<%= it.feed %>" style="${LINK}"><%= it.feedLabel %></a></p>
<% if (it.leaveOne.length > 0) { %>
<p style="${STYLE.footerP}">Unsubscribe from one tag or topic:
<% it.leaveOne.forEach((one, i) => { %>
<%= i > 0 ? '· ' : '' %><a href="<%= one.url %>" style="${LINK}"><%= one.name %></a>
<% }) %>
</p>
<% } %>
`;

/** A short message with one action (confirmation and the like). */
export const NOTICE_CONTENT = `<h1 style="${STYLE.h1}"><%= it.heading %></h1>
<% for (const paragraph of it.paragraphs) { %>
<p style="${STYLE.p}"><%= paragraph %></p>
<% } %>
<% if (it.items.length > 0) { %>
<ul>
<% for (const item of it.items) { %>
<li><%= item %></li>
<% } %>
</ul>
<% } %>
<% if (it.action) { %>
<p style="margin:20px 0"><a href="<%= it.action.url %>" style="${STYLE.button}"><%= it.action.label %></a></p>
<p style="${STYLE.muted}">Or open this link: <a href="<%= it.action.url %>" style="${LINK}"><%= it.action.url %></a></p>
<% } %>
`;

export const NOTICE_FOOTER = `<% for (const line of it.lines) { %>
<p style="${STYLE.footerP}"><%= line %></p>
<% } %>
<% if (it.links.length > 0) { %>
<p style="${STYLE.footerP}">
<% it.links.forEach((link, i) => { %>
<%= i > 0 ? '· ' : '' %><a href="<%= link.url %>" style="${LINK}"><%= link.label %></a>
<% }) %>
</p>
<% } %>
`;
