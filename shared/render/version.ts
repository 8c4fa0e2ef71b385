/**
 * The version of how pages and feeds are rendered. Raise it with any change to what a page or feed
 * says for the same data (a template, a format, a link): the publisher finds the site rendered by
 * another version and starts one full publish by itself after the deploy that brings it.
 */
export const RENDER_VERSION = 1;
