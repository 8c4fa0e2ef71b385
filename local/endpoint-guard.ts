// The address rules moved to shared/adapters/endpoint-guard.ts, where the WebSub hub's callbacks use them too.
export * from '../shared/adapters/endpoint-guard.js';
