// Roster's public GraphQL API, called with the documents of operations/ (the ones a
// frontend team starts from), nothing else. The session token lives in sessionStorage.

const TOKEN = 'roster.session';
let documents;

async function loadDocuments() {
  if (!documents) {
    const path = document.querySelector('meta[name="roster-operations"]').content;
    const text = await (await fetch(path)).text();
    documents = splitDefinitions(text);
  }
  return documents;
}

/** The top-level definitions of `text` by name: operations and fragments. */
function splitDefinitions(text) {
  const byName = new Map();
  const starts = [...text.matchAll(/^(query|mutation|subscription|fragment)\s+(\w+)/gm)];
  starts.forEach((match, i) => {
    const end = i + 1 < starts.length ? starts[i + 1].index : text.length;
    byName.set(match[2], text.slice(match.index, end).replace(/^#.*$/gm, '').trim());
  });
  return byName;
}

/** The operation `name` with every fragment it spreads. */
function documentOf(defs, name) {
  const parts = [], seen = new Set([name]), queue = [name];
  while (queue.length) {
    const text = defs.get(queue.shift());
    if (!text) throw new Error(`unknown operation or fragment: ${name}`);
    parts.push(text);
    for (const [, spread] of text.matchAll(/\.\.\.(\w+)/g)) {
      if (!seen.has(spread)) { seen.add(spread); queue.push(spread); }
    }
  }
  return parts.join('\n\n');
}

let sessionEnded = () => {};

/** Runs `handler` when Roster says the session sent is over (signed out elsewhere,
 * frozen, expired): the session is forgotten first. */
export function onSessionEnded(handler) { sessionEnded = handler; }

export class ApiError extends Error {
  constructor(message, code) { super(message); this.code = code; }
}

/** The text of operation `name` with its fragments. */
export async function operation(name) {
  return documentOf(await loadDocuments(), name);
}

/** Runs operation `name`; its data, or an ApiError for a top-level error. */
export async function call(name, variables = {}) {
  const query = documentOf(await loadDocuments(), name);
  const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json;q=0.9' };
  const token = sessionStorage.getItem(TOKEN);
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables, operationName: name }) });
  } catch {
    throw new ApiError('Roster cannot be reached. Check your connection and try again.', 'NETWORK');
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`Roster answered ${response.status} without a readable body. Try again.`, 'HTTP');
  }
  if (body.errors?.length) {
    const [first] = body.errors;
    if (token && first.extensions?.code === 'UNAUTHENTICATED') {
      sessionStorage.removeItem(TOKEN);
      sessionEnded();
    }
    throw new ApiError(first.message, first.extensions?.code);
  }
  return body.data;
}

export const session = {
  save(token) { sessionStorage.setItem(TOKEN, token); },
  clear() { sessionStorage.removeItem(TOKEN); },
  present() { return sessionStorage.getItem(TOKEN) !== null; },
  token() { return sessionStorage.getItem(TOKEN); },
};
