/*
 * The publisher: renders the site and its feeds from the table into the object store. Its parts,
 * by stage:
 * - publish-output.ts: what every run writes with (the object store behind an in-flight limit, the
 *   site's pages and feeds rendered from their parts, the records kept beside them);
 * - publish-run.ts: an incremental run's reads (each tag once, events in full once, feed items
 *   kept from the feeds as written) and its rebuilds of an event, a day, a tag and the site;
 * - publish-marked.ts: what the change stream marked, within a run's time budget;
 * - publish-backlog.ts: a backlog of event marks, drained oldest first while listings keep up;
 * - publish-full.ts: everything, from a walk over every event;
 * - publish-archives.ts: the archive by month (RFC 5005 documents, month, year and topic pages).
 */

export { type FullPublishOptions, publishAll } from './publish-job.js';
export { DEFAULT_RUN_BUDGET_MS, type PublishBudget, publishMarked } from './publish-marked.js';
export {
  emptyPublishReport,
  type PublishDeps,
  type PublishReport,
  TAG_COUNT_SLICES,
  tagCountSliceOf,
} from './publish-output.js';
