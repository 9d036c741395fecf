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
          // UNAUTHENTICATED, FORBIDDEN: the session may no longer watch; the next call says so.
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
