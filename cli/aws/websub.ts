import { operatorWebSubView } from '../../shared/adapters/websub-store.js';
import type { WebSubView } from '../backend.js';
import type { AwsContext } from './context.js';
import { OUTPUT } from './outputs.js';

/** The hub's subscriptions and failed deliveries in the stack's table: one scan, with the operator's credentials. */
export const websubView = (ctx: AwsContext): Promise<WebSubView> =>
  operatorWebSubView(ctx.clients.db, ctx.outputs.get(OUTPUT.tableName), Math.floor(ctx.now() / 1000));
