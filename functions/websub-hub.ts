import { formBody, httpApi, json, queryParams } from '../shared/http.js';
import { lazy } from '../shared/services/deps.js';
import { formFields, type HubRequestDeps, requestHub } from '../shared/services/websub.js';
import { hubRequestDeps } from '../shared/services/websub-deps.js';

/**
 * POST /api/websub: the WebSub hub's subscribe and unsubscribe requests (form-encoded). 202 once
 * the request is checked and its verification queued; bad input is a 400 naming the field and the
 * rule, a full cap a 409, and neither writes nor sends anything.
 */
export const makeHandler = (deps: HubRequestDeps | (() => HubRequestDeps) = hubRequestDeps) => {
  const get = lazy(deps);
  return httpApi(async (event) => {
    queryParams(event, []);
    const request = await requestHub(get(), formFields(await formBody(event)));
    return json(202, {
      message: `Accepted: the hub will ask ${request.callback.replace(/[?#].*$/s, '')} to confirm that it wants to ${request.mode}.`,
    });
  });
};

export const handler = makeHandler();
