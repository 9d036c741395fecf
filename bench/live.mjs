// Live feeds under load: N subscribers over graphql-transport-ws (split over the given
// instances) while writers freeze and recover members at a paced rate.
//
// Usage: node live.mjs <seconds> <subscribers> <acts per second> <token> <base> [<base>...]
// Prints {"ready": ...} once every subscription is in place, then waits for a line on
// stdin (the caller measures memory meanwhile), runs the storm and prints the result:
// acts done, deliveries, latency from the act's start (its event's `at`, taken before
// the commit, so the figure is an upper bound of commit-to-subscriber) p50/p99/max, and
// whether every subscriber saw the same sequence of changes in order, each once.
import WebSocket from '../tests/clients/node_modules/ws/wrapper.mjs';
import readline from 'node:readline';

const [seconds, subscribers, rate, token, ...bases] = process.argv.slice(2);
const N = Number(subscribers);
const QUERY = 'subscription { memberChanged { cursor action at member { id status } } }';

function subscribe(base, i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    const sub = { ws, cursors: [], latencies: [], errors: [] };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${token}` } })));
    ws.on('message', (data) => {
      const now = Date.now();
      const m = JSON.parse(data);
      if (m.type === 'connection_ack') {
        ws.send(JSON.stringify({ type: 'subscribe', id: String(i), payload: { query: QUERY } }));
        resolve(sub);
      } else if (m.type === 'next') {
        const change = m.payload.data?.memberChanged;
        if (!change) { sub.errors.push(m.payload.errors); return; }
        sub.cursors.push(change.cursor);
        sub.latencies.push(now - Date.parse(change.at));
      } else if (m.type === 'error') {
        sub.errors.push(m.payload);
      }
    });
    ws.on('error', reject);
    ws.on('close', (code) => { if (code !== 1000) sub.errors.push(`closed ${code}`); });
  });
}

async function gql(base, query, variables) {
  const r = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return r.json();
}

const subs = [];
for (let i = 0; i < N; i += 50) {
  const batch = [];
  for (let j = i; j < Math.min(N, i + 50); j++) batch.push(subscribe(bases[j % bases.length], j));
  subs.push(...await Promise.all(batch));
}
// Each subscription has fixed where it starts once its first statement ran.
await new Promise((r) => setTimeout(r, 1000));
const page = await gql(bases[0], '{ members(first: 40, filter: { status: ACTIVE }) { nodes { id email role { builtIn } } } }');
const targets = page.data.members.nodes.filter((m) => !m.role.builtIn).map((m) => m.id).slice(0, 16);
console.log(JSON.stringify({ ready: true, subscribers: subs.length }));
await new Promise((r) => readline.createInterface({ input: process.stdin }).once('line', r));

// The storm: acts at a paced rate, each member frozen then recovered in turn, spread
// over the instances.
const acts = { ok: 0, failed: 0 };
const started = Date.now();
const until = started + Number(seconds) * 1000;
const interval = 1000 / Number(rate);
const inflight = [];
for (let n = 0; Date.now() < until; n++) {
  const member = targets[n % targets.length];
  const freeze = Math.floor(n / targets.length) % 2 === 0;
  const q = freeze ? 'mutation($m: ID!) { freeze(memberId: $m) { changed } }' : 'mutation($m: ID!) { recover(memberId: $m) { changed } }';
  inflight.push(gql(bases[n % bases.length], q, { m: member }).then((r) => {
    if (r.errors || !r.data) acts.failed++; else acts.ok++;
  }));
  const next = started + (n + 1) * interval;
  await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
}
await Promise.all(inflight);
const elapsed = (Date.now() - started) / 1000;
// Stragglers: wait until deliveries stop growing.
let last = -1;
for (;;) {
  await new Promise((r) => setTimeout(r, 1000));
  const total = subs.reduce((s, x) => s + x.cursors.length, 0);
  if (total === last) break;
  last = total;
}
const reference = subs[0]?.cursors ?? [];
const same = subs.every((s) => s.cursors.length === reference.length && s.cursors.every((c, i) => c === reference[i]));
const unique = new Set(reference).size === reference.length;
const all = subs.flatMap((s) => s.latencies).sort((a, b) => a - b);
const pct = (p) => all.length ? all[Math.min(all.length - 1, Math.floor(p * all.length))] : null;
console.log(JSON.stringify({
  subscribers: subs.length,
  acts: acts.ok, failed_acts: acts.failed, acts_per_s: Math.round(acts.ok / elapsed * 10) / 10,
  changes: reference.length, deliveries: all.length,
  p50_ms: pct(0.5), p99_ms: pct(0.99), max_ms: all.length ? all[all.length - 1] : null,
  same_sequence: same, no_repeats: unique,
  errors: subs.reduce((s, x) => s + x.errors.length, 0),
}));
for (const s of subs) s.ws.close(1000);
process.exit(0);
