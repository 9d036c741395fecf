// Live updates through the real client libraries: graphql-ws's own client (and a
// resume after its cursor), and Apollo Client's GraphQLWsLink, against a running Roster.
// Usage: node live.mjs <base url> <token>
// Prints { ok, graphqlWs, createdMeanwhile, resumed, apollo }.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ApolloClient, InMemoryCache, HttpLink, gql, split } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';

const [base, token] = process.argv.slice(2);
const wsUrl = `${base.replace(/^http/, 'ws')}/graphql`;
const QUERY = 'subscription($after: String) { memberChanged(after: $after) { cursor action role { name } actor { email } } }';
const out = {};
let roles = 0;

async function createRole() {
  roles += 1;
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: `mutation { createRole(input: { name: "Live ${roles}", permissions: [] }) { errors { code } } }` }),
  });
  return response.json();
}

/** The first change `subscribe` delivers, creating roles until one arrives. */
async function firstChange(subscribe) {
  let got = null, failed = null;
  const stop = subscribe((change) => { got ??= change; }, (e) => { failed = e; });
  for (let i = 0; i < 40 && !got && !failed; i++) {
    if (i % 4 === 0) await createRole();
    await new Promise((r) => setTimeout(r, 250));
  }
  stop();
  if (failed) throw new Error(`subscription failed: ${JSON.stringify(failed?.message ?? failed?.code ?? failed)}`);
  if (!got) throw new Error('no change arrived');
  return got;
}

try {
  const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { Authorization: `Bearer ${token}` } });
  const viaWs = (variables) => (next, error) => client.subscribe({ query: QUERY, variables }, {
    next: ({ data, errors }) => (errors ? error(errors[0]) : next(data.memberChanged)),
    error, complete: () => {},
  });
  out.graphqlWs = await firstChange(viaWs({}));
  // Nothing happens while nobody listens but a role is created; resuming after the
  // cursor delivers exactly that one next.
  await createRole();
  out.createdMeanwhile = `Live ${roles}`;
  out.resumed = await firstChange(viaWs({ after: out.graphqlWs.cursor }));
  await client.dispose();

  const wsLink = new GraphQLWsLink(createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: () => ({ Authorization: `Bearer ${token}` }) }));
  const httpLink = new HttpLink({ uri: `${base}/graphql`, headers: { authorization: `Bearer ${token}` } });
  const apollo = new ApolloClient({
    cache: new InMemoryCache(),
    link: split(({ query }) => {
      const d = getMainDefinition(query);
      return d.kind === 'OperationDefinition' && d.operation === 'subscription';
    }, wsLink, httpLink),
  });
  out.apollo = await firstChange((next, error) => {
    const sub = apollo.subscribe({ query: gql(QUERY) }).subscribe({
      next: ({ data, error: e }) => (e ? error(e) : data && next(data.memberChanged)),
      error,
    });
    return () => sub.unsubscribe();
  });
  apollo.stop();
  out.ok = true;
} catch (e) {
  out.ok = false;
  out.failure = String(e?.stack ?? e).slice(0, 1500);
}
console.log(JSON.stringify(out, null, 2));
process.exit(0);
