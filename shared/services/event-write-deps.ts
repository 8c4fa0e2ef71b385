import { emfMetrics } from '../metrics.js';
import { storeDeps } from './deps.js';
import type { EventServiceDeps } from './events.js';

/**
 * The event-writing functions' wiring: the store, and writes counted in CloudWatch. Apart from
 * `storeDeps` so the read functions' bundles do not carry the metrics writer.
 */
export const eventWriteDeps = (): EventServiceDeps => ({ ...storeDeps(), metrics: emfMetrics });
