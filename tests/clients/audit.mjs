// The GraphQL-over-HTTP audit of graphql-http against a running Roster.
// Usage: node audit.mjs <graphql url>; prints one JSON object: { ok, failed: [...] }
// where failed lists every MUST and SHOULD audit that did not pass, with its reason.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
const results = await auditServer({ url });
const failed = results
  .filter((r) => r.status !== 'ok' && !r.name.startsWith('MAY'))
  .map((r) => ({ id: r.id, name: r.name, status: r.status, reason: r.reason }));
const ok = results.filter((r) => r.status === 'ok').length;
console.log(JSON.stringify({ total: results.length, ok, failed }, null, 2));
