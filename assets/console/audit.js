// The audit log: newest first; filter by action, by a date range, and by actor or
// target (click a name in the table); what each act changed as before → after, with
// its reason; Export downloads every matching event as JSON lines.
import { call, session } from './api.js';
import { el, formatDate, show } from './dom.js';
import { message } from './forms.js';
import { pager } from './pager.js';

const ACTIONS = {
  MEMBER_INVITED: 'Member invited', INVITATION_REISSUED: 'Invitation reissued',
  INVITATION_REVOKED: 'Invitation revoked', INVITATION_ACCEPTED: 'Invitation accepted',
  MEMBER_PERMISSION_EDITED: 'Permission edited', MEMBER_FROZEN: 'Member frozen',
  MEMBER_RECOVERED: 'Member recovered', MEMBER_PASSWORD_RESET: 'Password reset',
  PASSWORD_CHANGED: 'Password changed', ROLE_CREATED: 'Role created', ROLE_UPDATED: 'Role updated',
  ROLE_DELETED: 'Role deleted', SECURITY_SETTINGS_UPDATED: 'Security settings updated',
  LOGIN_SUCCEEDED: 'Signed in', LOGIN_FAILED: 'Sign-in refused', SESSION_REVOKED: 'Sessions revoked',
  MEMBER_REMOVED: 'Removed',
};

/** `key: value` lines of an event's details (JSON text); nested values as compact JSON. */
function details(text) {
  let parsed;
  try { parsed = JSON.parse(text); } catch { return text; }
  if (!parsed || typeof parsed !== 'object') return String(parsed);
  const entries = Object.entries(parsed);
  if (!entries.length) return '—';
  return el('dl', { class: 'details' }, entries.map(([key, value]) => [
    el('dt', {}, key.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()),
    el('dd', {}, typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)),
  ]));
}

/** What an event changed, a line per field: before → after ("changed" for a secret). */
function changes(event) {
  const text = (v) => v ?? '—';
  const lines = event.changes.map((c) => el('li', { 'data-field': c.field },
    el('span', { class: 'field' }, c.field), ': ',
    c.before === null && c.after === null ? 'changed' : `${text(c.before)} → ${text(c.after)}`));
  if (!lines.length && !event.reason) return details(event.details);
  return [lines.length ? el('ul', { class: 'changes' }, lines) : null,
    event.reason ? el('p', { class: 'reason' }, `Reason: ${event.reason}`) : null];
}

/** The start of the local day `value` (yyyy-mm-dd), `days` later, as an instant. */
const dayStart = (value, days = 0) => {
  const d = new Date(`${value}T00:00`);
  d.setDate(d.getDate() + days);
  return d.toISOString();
};

export async function audit(app) {
  document.title = 'Audit log · Roster';
  const filter = {};
  const action = el('select', { id: 'audit-action' },
    el('option', { value: '' }, 'All actions'), Object.entries(ACTIONS).map(([v, t]) => el('option', { value: v }, t)));
  const from = el('input', { type: 'date', id: 'audit-from' });
  const to = el('input', { type: 'date', id: 'audit-to' });
  const exported = el('span', { class: 'hint', id: 'audit-exported', role: 'status' });
  const exportButton = el('button', { type: 'button', id: 'audit-export', class: 'secondary', onclick: () => download() }, 'Export');
  const chips = el('div', { class: 'chips', id: 'audit-chips' });
  const body = el('tbody');
  const problem = el('p', { class: 'form-error', role: 'alert' });
  const pages = pager('audit', 'event', () => load());
  show(app, el('section', { class: 'screen' },
    el('h1', {}, 'Audit log'),
    el('div', { class: 'toolbar' }, el('label', {}, 'Action', action),
      el('label', {}, 'From', from), el('label', {}, 'To (inclusive)', to), exportButton, exported, chips,
      el('span', { class: 'hint' }, 'Select a name in the table to see only events by or on that member.')),
    problem,
    el('div', { class: 'table-wrap' }, el('table', { id: 'audit' },
      el('thead', {}, el('tr', {}, ['When', 'Action', 'Actor', 'Target', 'Changes', 'IP'].map((h) => el('th', { scope: 'col' }, h)))),
      body)),
    pages.node));

  const by = (key, member) => {
    if (!member) return '—';
    return el('button', { type: 'button', class: 'link', 'data-filter': key, title: `Only events with ${member.name} here`,
      onclick: () => { filter[key] = member; pages.reset(); load(); } }, member.name);
  };
  function showChips() {
    show(chips, [['actorId', 'Actor'], ['targetMemberId', 'Target']].filter(([key]) => filter[key]).map(([key, label]) =>
      el('span', { class: 'chip' }, `${label}: ${filter[key].name} `,
        el('button', { type: 'button', class: 'link', 'aria-label': `Remove the ${label.toLowerCase()} filter`,
          onclick: () => { delete filter[key]; pages.reset(); load(); } }, '×'))));
  }
  /** The filter as the API takes it (auditEvents and the export alike). */
  function sentFilter() {
    const sent = {};
    if (action.value) sent.action = action.value;
    if (filter.actorId) sent.actorId = filter.actorId.id;
    if (filter.targetMemberId) sent.targetMemberId = filter.targetMemberId.id;
    if (from.value) sent.from = dayStart(from.value);
    if (to.value) sent.to = dayStart(to.value, 1);
    return sent;
  }
  async function download() {
    exported.textContent = 'Exporting…';
    try {
      const response = await fetch(`/audit-events.ndjson?${new URLSearchParams(sentFilter())}`, {
        headers: { authorization: `Bearer ${session.token()}` },
      });
      if (!response.ok) throw new Error((await response.json()).errors?.[0]?.message ?? response.statusText);
      const blob = await response.blob();
      const lines = (await blob.text()).split('\n').filter(Boolean).length;
      const link = el('a', { href: URL.createObjectURL(blob), download: 'audit-events.ndjson', id: 'audit-download' });
      document.body.append(link);
      link.click();
      link.remove();
      exported.textContent = `Exported ${lines} event${lines === 1 ? '' : 's'}.`;
    } catch (error) {
      exported.textContent = message(error);
    }
  }
  async function load() {
    showChips();
    const sent = sentFilter();
    if (sent.from && sent.to && sent.from >= sent.to) {
      problem.textContent = 'The range ends before it starts.';
      return;
    }
    pages.busy();
    try {
      const { auditEvents: page } = await call('AuditLog', { first: 50, after: pages.current, filter: sent });
      problem.textContent = '';
      show(body, page.nodes.length ? page.nodes.map((e) => el('tr', { 'data-event-id': e.id, 'data-action': e.action },
        el('td', {}, formatDate(e.createdAt)),
        el('td', {}, ACTIONS[e.action] ?? e.action),
        el('td', {}, by('actorId', e.actor)),
        el('td', {}, e.targetMember ? by('targetMemberId', e.targetMember) : (e.targetRole?.name ?? '—')),
        el('td', { class: 'wrap' }, changes(e)),
        el('td', {}, e.ip ?? '—')))
        : el('tr', {}, el('td', { colspan: 6, class: 'empty' }, 'No events match.')));
      pages.shown(page);
    } catch (error) {
      problem.textContent = message(error);
    }
  }
  for (const input of [action, from, to]) input.addEventListener('change', () => { pages.reset(); load(); });
  await load();
}
