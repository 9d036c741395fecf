// Writes under load: each of C connections works on its own member, cycling through
// freeze, recover, and two editPermission moves (to another role and back), every act
// with its audit event. Every response is checked: `changed: true` and no errors.
//
// Usage: node writes.mjs <seconds> <connections> <token> <base>
// Prints {"ready": true} once it has its members, waits for a line on stdin, runs, and
// prints {"acts", "acts_per_s", "p50_ms", "p99_ms", "max_ms", "failed", "sample", "members"}.
import http from 'node:http';
import readline from 'node:readline';

const [seconds, connections, token, base] = process.argv.slice(2);
const C = Number(connections);
const agent = new http.Agent({ keepAlive: true, maxSockets: C });
const url = new URL(`${base}/graphql`);

function gql(query, variables) {
  const body = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const req = http.request({
      agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        try { resolve(JSON.parse(Buffer.concat(chunks))); } catch (e) { reject(e); }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

// Dedicated members: the newest C members outside the built-in role, and two roles to
// move them between.
const roles = (await gql('{ roles { id builtIn } }')).data.roles.filter((r) => !r.builtIn).map((r) => r.id);
const page = await gql('query($n: Int!) { members(first: $n, filter: { status: ACTIVE }) { nodes { id role { id builtIn } } } }', { n: C * 2 + 10 });
const members = page.data.members.nodes.filter((m) => !m.role.builtIn).slice(0, C);
if (members.length < C || roles.length < 2) {
  console.log(JSON.stringify({ error: `need ${C} members and two roles`, members: members.length, roles: roles.length }));
  process.exit(1);
}

// The caller reads the server's counters now, so that only the acts are counted.
console.log(JSON.stringify({ ready: true }));
await new Promise((r) => readline.createInterface({ input: process.stdin }).once('line', r));

const FREEZE = 'mutation($m: ID!) { freeze(memberId: $m, reason: "bench") { changed errors { code } } }';
const RECOVER = 'mutation($m: ID!) { recover(memberId: $m) { changed errors { code } } }';
const MOVE = 'mutation($m: ID!, $r: ID!) { editPermission(memberId: $m, roleId: $r) { changed errors { code } } }';

const latencies = [];
let failed = 0;
let sample = null;
const until = Date.now() + Number(seconds) * 1000;

async function worker(member) {
  const home = member.role.id;
  const away = roles.find((r) => r !== home);
  const cycle = [[FREEZE, {}], [RECOVER, {}], [MOVE, { r: away }], [MOVE, { r: home }]];
  // A cycle is finished even past the deadline, so that every member ends as it began.
  while (Date.now() < until) {
    for (const [query, extra] of cycle) {
      const started = process.hrtime.bigint();
      const r = await gql(query, { m: member.id, ...extra });
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      const payload = r.data && Object.values(r.data)[0];
      if (r.errors || !payload || !payload.changed || payload.errors.length) {
        failed++;
        sample = sample ?? JSON.stringify(r).slice(0, 300);
      }
    }
  }
}

const started = Date.now();
await Promise.all(members.map(worker));
const elapsed = (Date.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] * 10) / 10;
console.log(JSON.stringify({
  acts: latencies.length, acts_per_s: Math.round(latencies.length / elapsed),
  p50_ms: pct(0.5), p99_ms: pct(0.99), max_ms: pct(1), failed, sample,
  members: members.map((m) => m.id),
}));
agent.destroy();
process.exit(0);
