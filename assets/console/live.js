// Live updates: Roster's memberChanged subscription over graphql-transport-ws, through
// the vendored graphql-ws client. A dropped connection is opened again and the
// subscription resumed after the last change received, so nothing is missed.
import { operation, session } from './api.js';

let client;

function connection() {
  if (!client) {
    const url = new URL('/graphql', window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    client = window.graphqlWs.createClient({
      url: url.href,
      lazy: true,
      // Retries are done below, so that each resumes after the latest cursor.
      retryAttempts: 0,
      connectionParams: () => ({ Authorization: `Bearer ${session.token()}` }),
    });
  }
  return client;
}

const RETRY_MS = 1000;

// Watchers whose screen was replaced end within a couple of seconds, events or not.
const watchers = new Set();
setInterval(() => { for (const w of watchers) w.sweep(); }, 2000);

/**
 * Calls `changed(change)` for each change committed after `after` (a `liveCursor`), and
 * `changed(null)` when some may have been missed (the list should be read again), for
 * as long as `screen` is shown. Returns a function that stops.
 */
export function watchChanges(screen, after, changed) {
  let stopped = false, dispose = () => {}, cursor = after;
  const gone = () => stopped || !screen.isConnected;
  const again = (missed) => {
    if (gone()) return;
    if (missed) changed(null);
    setTimeout(start, RETRY_MS);
  };
  async function start() {
    if (gone()) return;
    const query = await operation('MemberChanges');
    let restart = null;
    dispose = connection().subscribe({ query, variables: { after: cursor }, operationName: 'MemberChanges' }, {
      next: ({ data, errors }) => {
        if (gone()) { dispose(); return; }
        const error = errors?.[0];
        if (error) {
          const code = error.extensions?.code;
          if (code === 'RESUME_REQUIRED') restart = () => { cursor = error.extensions.after; again(false); };
          else if (code === 'CURSOR_EXPIRED') restart = () => { cursor = null; again(true); };
          // The session may no longer watch (it ended, or the role lost MEMBERS_VIEW):
          // reading the list again shows why (the sign-in screen, or the refusal).
          else restart = () => { if (!gone()) changed(null); };
          return;
        }
        cursor = data.memberChanged.cursor;
        changed(data.memberChanged);
      },
      // A socket closed for good (the session ended: 4403) is not opened again.
      error: (e) => { if (e?.code !== 4403 && e?.code !== 4401) again(false); },
      complete: () => restart?.(),
    });
  }
  const stop = () => { stopped = true; dispose(); watchers.delete(watcher); };
  const watcher = { sweep: () => { if (gone()) stop(); } };
  watchers.add(watcher);
  start();
  return stop;
}

/** Runs `reload` once per burst of changes, at most every `ms` milliseconds. */
export function coalesced(reload, ms = 150) {
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => { timer = null; reload(); }, ms);
  };
}

/**
 * The rows of `body`, rendered so that a list read again after a change replaces only
 * the rows whose item changed: the others (a button under the pointer, a focused
 * checkbox) stay as they are. `context` is what every row depends on besides its
 * item; when it changes, every row is made again.
 */
export function liveRows(body) {
  let shown = null;
  return {
    render(items, row, context, empty) {
      const keys = items.map((item) => JSON.stringify(item));
      const ids = items.map((item) => item.id).join();
      const whole = JSON.stringify(context ?? null);
      if (shown && shown.ids === ids && shown.context === whole && items.length) {
        items.forEach((item, i) => {
          if (shown.keys[i] !== keys[i]) shown.nodes[i].replaceWith(row(item));
        });
      } else {
        body.replaceChildren(...(items.length ? items.map(row) : [empty]));
      }
      shown = { ids, context: whole, keys, nodes: items.length ? [...body.children] : [] };
    },
  };
}
