/**
 * What a missing page answers before the publisher has written the site's own 404 page (a fresh
 * data folder, or a new stack before its first publish): no site settings are known yet, so it
 * names nothing but the site's root. Not in pages.ts, which compiles every template as it loads:
 * the function that answers missing pages in AWS needs only this.
 */
export const BUILT_IN_NOT_FOUND_PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Page not found</title>
</head>
<body>
<main>
<h1>Page not found</h1>
<p>There is no page at this address. <a href="/">Go to the home page</a>.</p>
</main>
</body>
</html>
`;
