/**
 * Eta templates of the subscription pages (confirm, unsubscribe, manage, and the answers to a
 * sign-up), kept as strings so esbuild bundles them with subscription-pages.ts.
 *
 * The same rules as the site's templates: every value is written with `<%= %>`; the only raw
 * output (`<%~ %>`) is `it.content` in the layout, HTML the engine itself rendered. Every URL
 * arrives precomputed. Control tags (`<% %>`) start their line and no line ends in a space.
 * Every page works without JavaScript: links and plain form posts.
 */

const CSS = [
  ':root{color-scheme:light dark;--fg:#1b1b1b;--bg:#fff;--muted:#5a5a5a;--link:#0b57d0;--rule:#ddd;--bad:#a50e0e}',
  '@media (prefers-color-scheme:dark){:root{--fg:#e6e6e6;--bg:#151515;--muted:#a6a6a6;--link:#8ab4f8;--rule:#333;--bad:#f28b82}}',
  '*{box-sizing:border-box}',
  'body{margin:0 auto;max-width:44rem;padding:0 1rem 2rem;color:var(--fg);background:var(--bg);font:1.0625rem/1.6 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;overflow-wrap:break-word}',
  'a{color:var(--link)}',
  'h1{font-size:1.45rem;line-height:1.3;margin:.4rem 0 1rem}',
  '.site{padding:.75rem 0;border-bottom:1px solid var(--rule)}',
  '.brand{font-weight:700;text-decoration:none;color:var(--fg)}',
  '.meta{color:var(--muted);font-size:.9rem}',
  '.problems{color:var(--bad)}',
  'fieldset{border:1px solid var(--rule);border-radius:.5rem;margin:0 0 1rem;padding:.5rem 1rem}',
  'label{display:block;margin:.25rem 0}',
  'button{font:inherit;padding:.4rem 1rem;cursor:pointer}',
  'form{margin:1rem 0}',
].join('\n');

/** The page shell: the site's name linking home, the page. */
export const PAGE_LAYOUT = `<!DOCTYPE html>
<html lang="<%= it.lang %>">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title><%= it.title %></title>
<style>
${CSS}
</style>
</head>
<body>
<header class="site">
<a class="brand" href="<%= it.home %>"><%= it.siteTitle %></a>
</header>
<main>
<%~ it.content %>
</main>
</body>
</html>
`;

/** A message: heading, paragraphs, an optional list (tags and topics followed) and links onwards. */
export const MESSAGE = `<h1><%= it.heading %></h1>
<% for (const paragraph of it.paragraphs) { %>
<p><%= paragraph %></p>
<% } %>
<% if (it.items.length > 0) { %>
<ul>
<% for (const item of it.items) { %>
<li><%= item %></li>
<% } %>
</ul>
<% } %>
<% if (it.problems.length > 0) { %>
<ul class="problems">
<% for (const problem of it.problems) { %>
<li><%= problem %></li>
<% } %>
</ul>
<% } %>
<% for (const link of it.links) { %>
<p><a href="<%= link.href %>"><%= link.label %></a></p>
<% } %>
`;

/**
 * Confirm: what the button will confirm, and the button. Following the link changes nothing
 * (mail scanners and link previews open links); the button posts the token in the body.
 */
export const CONFIRM = `<h1><%= it.heading %></h1>
<p><%= it.explanation %></p>
<% if (it.follows.length > 0) { %>
<ul>
<% for (const name of it.follows) { %>
<li><%= name %></li>
<% } %>
</ul>
<% } %>
<form method="post" action="<%= it.action %>">
<input type="hidden" name="token" value="<%= it.token %>">
<button type="submit"><%= it.button %></button>
</form>
`;

/**
 * Unsubscribe: what the button will do, and the button. Following the link changes nothing
 * (mail scanners open links); the button posts the one-click body of RFC 8058 and the token.
 */
export const UNSUBSCRIBE = `<h1><%= it.heading %></h1>
<p><%= it.explanation %></p>
<form method="post" action="<%= it.action %>">
<input type="hidden" name="token" value="<%= it.token %>">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit"><%= it.button %></button>
</form>
`;

/**
 * The manage form: tags and topic labels (followed ones checked, then others to add), cadence, the
 * delivery time in the reader's zone and quiet hours, save; leaving;
 * and signing out every link. Each form posts its token in the body.
 */
export const MANAGE = `<h1>Your subscription</h1>
<% if (it.notice) { %>
<p><strong><%= it.notice %></strong></p>
<% } %>
<p><%= it.explanation %></p>
<form method="post" action="<%= it.action %>">
<input type="hidden" name="token" value="<%= it.token %>">
<fieldset>
<legend>Tags</legend>
<% for (const tag of it.tags) { %>
<label><input type="checkbox" name="tags[]" value="<%= tag.slug %>"<%= tag.checked ? ' checked' : '' %>> <%= tag.name %></label>
<% } %>
</fieldset>
<% if (it.topics.length > 0) { %>
<fieldset>
<legend>Topics</legend>
<% for (const topic of it.topics) { %>
<label><input type="checkbox" name="topicLabels[]" value="<%= topic.slug %>"<%= topic.checked ? ' checked' : '' %>> <%= topic.name %></label>
<% } %>
</fieldset>
<% } %>
<fieldset>
<legend>How often</legend>
<% for (const option of it.cadences) { %>
<label><input type="radio" name="cadence" value="<%= option.value %>"<%= option.checked ? ' checked' : '' %>> <%= option.label %></label>
<% } %>
</fieldset>
<fieldset>
<legend>When, in your time</legend>
<label>Time zone <select name="timeZone">
<% for (const option of it.delivery.zones) { %>
<option<%= option.selected ? ' selected' : '' %>><%= option.value %></option>
<% } %>
</select></label>
<label>Digests at <select name="deliveryHour">
<% for (const option of it.delivery.hours) { %>
<option value="<%= option.value %>"<%= option.selected ? ' selected' : '' %>><%= option.label %></option>
<% } %>
</select></label>
<label>Weekly digests on <select name="deliveryWeekday">
<% for (const option of it.delivery.weekdays) { %>
<option value="<%= option.value %>"<%= option.selected ? ' selected' : '' %>><%= option.label %></option>
<% } %>
</select></label>
</fieldset>
<fieldset>
<legend>Quiet hours for alerts as they happen</legend>
<label>From <select name="quietHours.from">
<% for (const option of it.delivery.quietFrom) { %>
<option value="<%= option.value %>"<%= option.selected ? ' selected' : '' %>><%= option.label %></option>
<% } %>
</select></label>
<label>to <select name="quietHours.to">
<% for (const option of it.delivery.quietTo) { %>
<option value="<%= option.value %>"<%= option.selected ? ' selected' : '' %>><%= option.label %></option>
<% } %>
</select></label>
</fieldset>
<button type="submit">Save</button>
</form>
<p>In a feed reader: <a href="<%= it.feed %>">your digest as a private feed</a> (Atom). Keep its address to yourself; signing out all your links ends it.</p>
<form method="post" action="<%= it.leave.action %>">
<input type="hidden" name="token" value="<%= it.leave.token %>">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe from everything</button>
</form>
<form method="post" action="<%= it.signOut.action %>">
<input type="hidden" name="token" value="<%= it.token %>">
<p class="meta">Forwarded a digest, or worried someone else has your links? Signing out makes every link sent so far stop working, except the unsubscribe links; your next email brings new ones.</p>
<button type="submit">Sign out all my links</button>
</form>
`;
