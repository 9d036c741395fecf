// Member Management: the table of members with search, filters, the total and pages by
// cursor; + Add Member; each row's acts, shown only where the viewer may do them.
import { call } from './api.js';
import { el, field, formatDate, selectField, choiceField, show } from './dom.js';
import { message } from './forms.js';
import { formDialog, showSecret } from './dialogs.js';
import { pager } from './pager.js';
import { editPermission, freeze, recover, resetPassword } from './member-acts.js';
import { sessionsDialog } from './sessions.js';

const VALIDITY = [['ONE_DAY', '1 day'], ['SEVEN_DAYS', '7 days'], ['THIRTY_DAYS', '30 days']];
const STATUS = { ACTIVE: 'Active', FROZEN: 'Frozen' };

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

/** The acts `viewer` may do to `member`, as buttons: the same rules Roster applies
 * (the permission, not oneself, every permission of the member's role held). */
function operations(viewer, member, roles, reload) {
  const held = new Set(viewer.role.permissions);
  const covers = (permissions) => permissions.every((p) => held.has(p));
  const role = roles.find((r) => r.id === member.role.id);
  const act = (name, label, run) => el('button', { type: 'button', class: 'link', 'data-act': name, onclick: run }, label);
  // One's own sessions are under Your sessions in the bar.
  if (member.id === viewer.id || !role || !covers(role.permissions)) return [];
  const grantable = roles.filter((r) => covers(r.permissions));
  return [
    held.has('MEMBERS_EDIT_PERMISSION') && act('edit-permission', 'Edit Permission', () => editPermission(member, grantable, reload)),
    held.has('MEMBERS_FREEZE') && (member.status === 'FROZEN'
      ? act('recover', 'Recover', () => recover(member, reload))
      : act('freeze', 'Freeze', () => freeze(member, reload))),
    held.has('MEMBERS_RESET_PASSWORD') && act('reset-password', 'Reset Password', () => resetPassword(member, reload)),
    held.has('MEMBERS_SESSIONS_MANAGE') && act('sessions', 'Sessions', () => sessionsDialog(member, false)),
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
  const add = viewer.role.permissions.includes('MEMBERS_INVITE')
    ? el('button', { type: 'button', id: 'add-member', onclick: () => addMember(load) }, '+ Add Member')
    : null;
  show(app, el('section', { class: 'screen' },
    el('div', { class: 'title' }, el('h1', {}, 'Member Management'), add),
    el('div', { class: 'toolbar' },
      el('label', { class: 'grow' }, 'Search', search),
      el('label', {}, 'Status', status),
      el('label', {}, 'Role', role)),
    problem,
    el('div', { class: 'table-wrap' }, el('table', { id: 'members' },
      el('thead', {}, el('tr', {}, ['Name', 'Email', 'Role', 'Status', 'Last sign-in', 'Invited by', 'Operation']
        .map((h) => el('th', { scope: 'col' }, h)))),
      body)),
    pages.node));

  let rolesShown = false;
  async function load() {
    const filter = {};
    if (state.search.trim()) filter.search = state.search.trim();
    if (state.status) filter.status = state.status;
    if (state.roleId) filter.roleId = state.roleId;
    pages.busy();
    try {
      const data = await call('MemberList', { first: 20, after: pages.current, filter });
      problem.textContent = '';
      if (!rolesShown) {
        rolesShown = true;
        role.append(...data.roles.map((r) => el('option', { value: r.id }, r.name)));
      }
      const { nodes } = data.members;
      show(body, nodes.length ? nodes.map((m) => el('tr', { 'data-member-id': m.id },
        el('td', {}, m.name), el('td', {}, m.email), el('td', { class: 'role' }, m.role.name),
        el('td', {}, el('span', { class: `status ${m.status}`, title: m.status === 'FROZEN' ? frozenNote(m) : null }, STATUS[m.status] ?? m.status)),
        el('td', {}, formatDate(m.lastLoginAt)), el('td', {}, m.invitedBy?.name ?? '—'),
        el('td', { class: 'operation' }, operations(viewer, m, data.roles, load))))
        : el('tr', {}, el('td', { colspan: 7, class: 'empty' }, 'No members match.')));
      pages.shown(data.members);
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
