// Invitations: every link handed out, by status; reissue (a new link, shown once) and
// revoke, for those not used yet.
import { call } from './api.js';
import { coalesced, liveRows, watchChanges } from './live.js';
import { el, formatDate, show } from './dom.js';
import { message } from './forms.js';
import { formDialog, showSecret } from './dialogs.js';
import { pager } from './pager.js';

const STATUS = { PENDING: 'Pending', ACCEPTED: 'Accepted', EXPIRED: 'Expired', REVOKED: 'Revoked' };

function reissue(invitation, done) {
  const { node, confirm } = formDialog('Reissue', {
    intro: [el('p', {}, 'Give this invitation a new link and a fresh validity period? The old link stops working.')],
    confirmLabel: 'Reissue',
    submit: async (dialogNode) => {
      const { reissueInvitation: result } = await call('ReissueInvitation', { id: invitation.id });
      if (result.link) {
        done();
        showSecret(dialogNode, {
          title: 'Invitation link', label: 'Invitation link', secret: result.link, copyLabel: 'Copy Link',
          lines: [`For the role ${invitation.role.name}, valid until ${formatDate(result.invitation.expiresAt)}.`],
          warning: 'This link is shown only once: copy it now and send it to the developer.',
        });
      }
      return result.errors;
    },
  });
  node.id = 'reissue';
  confirm.focus();
}

function revoke(invitation, done) {
  const { node, confirm } = formDialog('Revoke', {
    intro: [el('p', {}, `Revoke this invitation${invitation.email ? ` for ${invitation.email}` : ''}? Its link stops working.`)],
    confirmLabel: 'Revoke',
    danger: true,
    submit: async (dialogNode) => {
      const { revokeInvitation: result } = await call('RevokeInvitation', { id: invitation.id });
      if (!result.errors.length) { dialogNode.close(); done(); }
      return result.errors;
    },
  });
  node.id = 'revoke';
  confirm.focus();
}

export async function invitations(app, viewer) {
  document.title = 'Invitations · Roster';
  const may = viewer.role.permissions.includes('MEMBERS_INVITE');
  const status = el('select', { id: 'invitation-status' },
    el('option', { value: '' }, 'All statuses'), Object.entries(STATUS).map(([v, t]) => el('option', { value: v }, t)));
  const body = el('tbody');
  const problem = el('p', { class: 'form-error', role: 'alert' });
  const pages = pager('invitation', 'invitation', () => load());
  show(app, el('section', { class: 'screen' },
    el('div', { class: 'title' }, el('h1', {}, 'Invitations')),
    el('div', { class: 'toolbar' }, el('label', {}, 'Status', status)),
    problem,
    el('div', { class: 'table-wrap' }, el('table', { id: 'invitations' },
      el('thead', {}, el('tr', {}, ['Email', 'Role', 'Status', 'Expires', 'Created', 'Created by', 'Accepted by', 'Operation']
        .map((h) => el('th', { scope: 'col' }, h)))),
      body)),
    pages.node));

  let watching = false;
  const rows = liveRows(body);
  async function load() {
    pages.busy();
    try {
      const { invitations: page, liveCursor } = await call('InvitationList', { first: 20, after: pages.current, status: status.value || null });
      if (!watching) {
        watching = true;
        watchChanges(body, liveCursor, coalesced(load));
      }
      problem.textContent = '';
      rows.render(page.nodes, (i) => {
        const open = may && (i.status === 'PENDING' || i.status === 'EXPIRED');
        return el('tr', { 'data-invitation-id': i.id },
          el('td', {}, i.email ?? el('span', { class: 'hint' }, 'Anyone with the link')),
          el('td', {}, i.role.name),
          el('td', {}, el('span', { class: `status ${i.status}` }, STATUS[i.status])),
          el('td', {}, formatDate(i.expiresAt)), el('td', {}, formatDate(i.createdAt)),
          el('td', {}, i.createdBy?.name ?? '—'), el('td', {}, i.acceptedBy?.name ?? '—'),
          el('td', { class: 'operation' }, open ? [
            el('button', { type: 'button', class: 'link', 'data-act': 'reissue', onclick: () => reissue(i, load) }, 'Reissue'),
            el('button', { type: 'button', class: 'link', 'data-act': 'revoke', onclick: () => revoke(i, load) }, 'Revoke'),
          ] : []));
      }, null, el('tr', {}, el('td', { colspan: 8, class: 'empty' }, 'No invitations.')));
      pages.shown(page);
    } catch (error) {
      problem.textContent = message(error);
    }
  }
  status.addEventListener('change', () => { pages.reset(); load(); });
  await load();
}
