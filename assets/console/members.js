// Member Management: the table of members with search, filters, the total and pages by
// cursor; + Add Member and Invite Several; each row's acts, shown as Roster's viewerCan
// says; acts on the selected members at once.
import { call } from './api.js';
import { el, field, formatDate, selectField, choiceField, show } from './dom.js';
import { message } from './forms.js';
import { formDialog, showSecret } from './dialogs.js';
import { pager } from './pager.js';
import { editPermission, freeze, recover, remove, resetPassword } from './member-acts.js';
import { sessionsDialog } from './sessions.js';
import { bulkEditPermission, bulkFreeze, bulkRecover } from './bulk.js';
import { inviteMany } from './invite-many.js';
import { coalesced, liveRows, watchChanges } from './live.js';

const VALIDITY = [['ONE_DAY', '1 day'], ['SEVEN_DAYS', '7 days'], ['THIRTY_DAYS', '30 days']];
const STATUS = { ACTIVE: 'Active', FROZEN: 'Frozen', REMOVED: 'Removed' };

/** What a frozen member's status says on hover: why, and until when. */
const frozenNote = (m) => [m.frozenReason, m.frozenUntil && `until ${formatDate(m.frozenUntil)}`].filter(Boolean).join(', ') || null;

/** The Add Member dialog: Invite Developer with a validity and a role. It reads the
 * roles itself (Permission Setting), so it is complete however soon it opens. */
function addMember(done) {
  const validity = choiceField('validity', 'Link Validity Period', VALIDITY);
  validity.node.querySelector('input[value="SEVEN_DAYS"]').checked = true;
  const role = selectField('roleId', 'Permission Setting', [['', 'Loading roles…']]);
  role.input.disabled = true;
  const email = field('email', 'Email', { type: 'email', autocomplete: 'off' }, ' (optional: only this address can accept)');
  const { node, confirm, problem } = formDialog('Add Member', {
    intro: [el('h3', {}, 'Invite Developer')],
    fields: { validity, roleId: role, email },
    submit: async (dialogNode) => {
      const { invite } = await call('InviteDeveloper', {
        roleId: role.input.value, validity: validity.input.value, email: email.input.value.trim() || null,
      });
      if (invite.link) {
        done();
        const { role: granted, expiresAt } = invite.invitation;
        showSecret(dialogNode, {
          title: 'Invitation link', label: 'Invitation link', secret: invite.link, copyLabel: 'Copy Link',
          lines: [`For the role ${granted.name}, valid until ${formatDate(expiresAt)}.`],
          warning: 'This link is shown only once: copy it now and send it to the developer.',
        });
      }
      return invite.errors;
    },
  });
  node.id = 'add-member-dialog';
  confirm.disabled = true;
  call('AddMemberDialog').then(({ roles }) => {
    show(role.input, roles.map((r) => el('option', { value: r.id }, r.name)));
    role.input.disabled = confirm.disabled = false;
    role.input.focus();
  }).catch((error) => { problem.textContent = message(error); });
}

const LAST_ADMIN = 'Another active administrator must remain: this would leave none.';

/** The acts `viewer` may do to `member`, as buttons, as Roster decides them
 * (`viewerCan`); one the last administrator blocks shows disabled, saying why. */
function operations(viewer, member, roles, reload) {
  const held = new Set(viewer.role.permissions);
  const covers = (permissions) => permissions.every((p) => held.has(p));
  const can = member.viewerCan;
  const act = (capability, name, label, run) => {
    if (capability.allowed) return el('button', { type: 'button', class: 'link', 'data-act': name, onclick: run }, label);
    if (capability.reason !== 'LAST_ADMINISTRATOR') return null;
    return el('button', { type: 'button', class: 'link', 'data-act': name, disabled: true, title: LAST_ADMIN }, label);
  };
  const grantable = roles.filter((r) => covers(r.permissions));
  return [
    act(can.editPermission, 'edit-permission', 'Edit Permission', () => editPermission(member, grantable, reload)),
    act(can.freeze, 'freeze', 'Freeze', () => freeze(member, reload)),
    act(can.recover, 'recover', 'Recover', () => recover(member, reload)),
    act(can.resetPassword, 'reset-password', 'Reset Password', () => resetPassword(member, reload)),
    // One's own sessions are under Your sessions in the bar.
    member.id !== viewer.id && act(can.revokeSessions, 'sessions', 'Sessions', () => sessionsDialog(member, false)),
    act(can.remove, 'remove', 'Remove', () => remove(member, reload)),
  ].filter(Boolean);
}

/** The Member Management screen for `viewer`, in `app`. */
export async function members(app, viewer) {
  document.title = 'Member Management · Roster';
  const state = { search: '', status: '', roleId: '' };
  const search = el('input', { id: 'member-search', type: 'search', placeholder: 'Name or email' });
  const status = el('select', { id: 'member-status' },
    el('option', { value: '' }, 'All statuses'), Object.entries(STATUS).map(([v, t]) => el('option', { value: v }, t)));
  const role = el('select', { id: 'member-role' }, el('option', { value: '' }, 'All roles'));
  const body = el('tbody');
  const pages = pager('member', 'member', () => load());
  const problem = el('p', { class: 'form-error', role: 'alert' });
  const held = new Set(viewer.role.permissions);
  let roles = [];
  const add = held.has('MEMBERS_INVITE')
    ? el('div', { class: 'title-actions' },
      el('button', { type: 'button', id: 'invite-many', class: 'secondary', onclick: () => inviteMany(grantable(), load) }, 'Invite Several'),
      el('button', { type: 'button', id: 'add-member', onclick: () => addMember(load) }, '+ Add Member'))
    : null;
  const grantable = () => roles.filter((r) => r.permissions.every((p) => held.has(p)));
  // The members picked for an act on all of them, by id, on the page shown.
  const chosen = new Map();
  const selecting = held.has('MEMBERS_FREEZE') || held.has('MEMBERS_EDIT_PERMISSION');
  const count = el('span', { id: 'selected-count' });
  const bar = el('div', { class: 'bulk-bar', id: 'bulk-bar', hidden: true }, count,
    held.has('MEMBERS_FREEZE') && el('button', { type: 'button', id: 'bulk-freeze', class: 'secondary', onclick: () => bulkFreeze(chosen, load) }, 'Freeze'),
    held.has('MEMBERS_FREEZE') && el('button', { type: 'button', id: 'bulk-recover', class: 'secondary', onclick: () => bulkRecover(chosen, load) }, 'Recover'),
    held.has('MEMBERS_EDIT_PERMISSION') && el('button', { type: 'button', id: 'bulk-edit-permission', class: 'secondary', onclick: () => bulkEditPermission(chosen, grantable(), load) }, 'Edit Permission'),
    el('button', { type: 'button', class: 'link', onclick: () => { chosen.clear(); picked(); } }, 'Clear'));
  const all = el('input', { type: 'checkbox', id: 'select-all', 'aria-label': 'Select every member of this page' });
  function picked() {
    bar.hidden = chosen.size === 0;
    count.textContent = `${chosen.size} selected`;
    for (const box of body.querySelectorAll('input[data-select]')) box.checked = chosen.has(box.dataset.select);
    const boxes = body.querySelectorAll('input[data-select]');
    all.checked = boxes.length > 0 && [...boxes].every((b) => b.checked);
  }
  all.addEventListener('change', () => {
    for (const box of body.querySelectorAll('input[data-select]')) {
      if (all.checked) chosen.set(box.dataset.select, box.member); else chosen.delete(box.dataset.select);
    }
    picked();
  });
  const pick = (m) => {
    const box = el('input', { type: 'checkbox', 'data-select': m.id, 'aria-label': `Select ${m.name}` });
    box.member = m;
    box.addEventListener('change', () => { if (box.checked) chosen.set(m.id, m); else chosen.delete(m.id); picked(); });
    return box;
  };
  show(app, el('section', { class: 'screen' },
    el('div', { class: 'title' }, el('h1', {}, 'Member Management'), add),
    el('div', { class: 'toolbar' },
      el('label', { class: 'grow' }, 'Search', search),
      el('label', {}, 'Status', status),
      el('label', {}, 'Role', role)),
    problem, bar,
    el('div', { class: 'table-wrap' }, el('table', { id: 'members' },
      // The boxes that pick members sit in the Name column, before each name.
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, selecting && all, 'Name'),
        ['Email', 'Role', 'Status', 'Last sign-in', 'Invited by', 'Operation'].map((h) => el('th', { scope: 'col' }, h)))),
      body)),
    pages.node));

  let rolesShown = false, watching = false;
  const rows = liveRows(body);
  const screen = body;
  // `live`: read again for a change another administrator made; the selection stays.
  async function load(live = false) {
    const filter = {};
    if (state.search.trim()) filter.search = state.search.trim();
    if (state.status) filter.status = state.status;
    if (state.roleId) filter.roleId = state.roleId;
    pages.busy();
    try {
      const data = await call('MemberList', { first: 20, after: pages.current, filter });
      problem.textContent = '';
      roles = data.roles;
      if (!rolesShown) {
        rolesShown = true;
        role.append(...data.roles.map((r) => el('option', { value: r.id }, r.name)));
      }
      const { nodes } = data.members;
      // The selection is of what is shown: a new page or filter starts afresh; a live
      // update keeps whom it still shows.
      const shownIds = new Set(nodes.map((m) => m.id));
      for (const id of [...chosen.keys()]) if (!live || !shownIds.has(id)) chosen.delete(id);
      const row = (m) => el('tr', { 'data-member-id': m.id },
        el('td', {}, selecting && pick(m), m.name), el('td', {}, m.email), el('td', { class: 'role' }, m.role.name),
        el('td', {}, el('span', { class: `status ${m.status}`, title: m.status === 'FROZEN' ? frozenNote(m) : null }, STATUS[m.status] ?? m.status)),
        el('td', {}, formatDate(m.lastLoginAt)), el('td', {}, m.invitedBy?.name ?? '—'),
        el('td', { class: 'operation' }, operations(viewer, m, data.roles, load)));
      rows.render(nodes, row, data.roles, el('tr', {}, el('td', { colspan: 7, class: 'empty' }, 'No members match.')));
      picked();
      pages.shown(data.members);
      if (!watching) {
        watching = true;
        watchChanges(screen, data.liveCursor, coalesced(() => load(true)));
      }
    } catch (error) {
      problem.textContent = message(error);
    }
  }
  let typing;
  const searchChanged = () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      if (state.search === search.value) return;
      state.search = search.value; pages.reset(); load();
    }, 250);
  };
  search.addEventListener('input', searchChanged);
  search.addEventListener('change', searchChanged);
  status.addEventListener('change', () => { state.status = status.value; pages.reset(); load(); });
  role.addEventListener('change', () => { state.roleId = role.value; pages.reset(); load(); });
  await load();
}
