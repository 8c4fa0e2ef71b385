/** The HTTP API: one function per route. Read by the CDK API construct and the local server. */
export interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** API Gateway route syntax; `{id+}` is greedy (event ids contain slashes). */
  path: string;
  /** File name under functions/, without extension. */
  fn: string;
  /** Write routes need a bearer API key. */
  auth: boolean;
  /**
   * What the function uses beyond the table: `topic` manages subscriptions of the SNS topic of
   * changes; `email` sends through SES and signs links with the token secret; `links` only signs
   * and verifies links with the token secret (it sends nothing); `delivery` shows or takes
   * subscribers' delivery times, so it is told the deployment's default one.
   */
  uses?: readonly ('topic' | 'email' | 'links' | 'delivery')[];
}

export const API_ROUTES: readonly RouteSpec[] = [
  { method: 'POST', path: '/api/events', fn: 'post-event', auth: true },
  { method: 'POST', path: '/api/events/batch', fn: 'post-events-batch', auth: true },
  { method: 'PUT', path: '/api/events/{id+}', fn: 'put-event', auth: true },
  { method: 'DELETE', path: '/api/events/{id+}', fn: 'delete-event', auth: true },
  { method: 'GET', path: '/api/events/{id+}', fn: 'get-event', auth: false },
  { method: 'GET', path: '/api/events', fn: 'list-events', auth: false },
  { method: 'GET', path: '/api/tags', fn: 'list-tags', auth: false },
  // The OpenAPI document of these routes (shared/openapi.ts); it reads nothing but the code.
  { method: 'GET', path: '/api/openapi.json', fn: 'get-openapi', auth: false },
  { method: 'POST', path: '/api/webhooks', fn: 'create-webhook', auth: true, uses: ['topic'] },
  { method: 'GET', path: '/api/webhooks', fn: 'list-webhooks', auth: true, uses: ['topic'] },
  { method: 'DELETE', path: '/api/webhooks/{id}', fn: 'delete-webhook', auth: true, uses: ['topic'] },
  // The WebSub hub: public, throttled; its verification requests go out from its worker.
  { method: 'POST', path: '/api/websub', fn: 'websub-hub', auth: false },
  {
    method: 'POST',
    path: '/api/subscriptions',
    fn: 'create-subscription',
    auth: false,
    uses: ['email', 'delivery'],
  },
  // Every link route answers GET with a page and changes state only on POST: mail scanners open links.
  {
    method: 'GET',
    path: '/api/subscriptions/confirm',
    fn: 'confirm-subscription',
    auth: false,
    uses: ['links', 'delivery'],
  },
  {
    method: 'POST',
    path: '/api/subscriptions/confirm',
    fn: 'confirm-subscription',
    auth: false,
    uses: ['links', 'delivery'],
  },
  { method: 'GET', path: '/api/subscriptions/unsubscribe', fn: 'unsubscribe', auth: false, uses: ['links'] },
  { method: 'POST', path: '/api/subscriptions/unsubscribe', fn: 'unsubscribe', auth: false, uses: ['links'] },
  {
    method: 'GET',
    path: '/api/subscriptions/manage',
    fn: 'manage-subscription',
    auth: false,
    uses: ['links', 'delivery'],
  },
  {
    method: 'POST',
    path: '/api/subscriptions/manage',
    fn: 'manage-subscription',
    auth: false,
    uses: ['links', 'delivery'],
  },
  // A subscriber's digest as a private Atom feed: read by feed readers with a feed link's token.
  {
    method: 'GET',
    path: '/api/subscriptions/feed',
    fn: 'get-subscriber-feed',
    auth: false,
    uses: ['links'],
  },
  {
    method: 'POST',
    path: '/api/subscriptions/sign-out',
    fn: 'manage-subscription',
    auth: false,
    uses: ['links', 'delivery'],
  },
];
