// The Member Management console at /admin. It talks to Roster only through
// POST /graphql with the documents of operations/, like any frontend would.
import { call, session } from './api.js';
import { el, field, show, showErrors } from './dom.js';
import { form, message } from './forms.js';

const app = document.getElementById('app');
const bar = document.getElementById('bar');

const SCREENS = [
  ['members', 'Member Management'],
];

function signIn(reason) {
  document.title = 'Sign in · Roster';
  show(bar, el('strong', {}, 'Roster'));
  const fields = {
    email: field('email', 'Email', { type: 'email', autocomplete: 'username', required: true }),
    password: field('password', 'Password', { type: 'password', autocomplete: 'current-password', required: true }),
  };
  show(app, el('div', { class: 'card' },
    el('h1', {}, 'Sign in'),
    el('p', { class: 'lead' }, reason ?? 'Member Management for your developer platform.'),
    form(fields, 'Sign in', async (values) => {
      const { login } = await call('SignIn', values);
      if (login.session) {
        session.save(login.session.token);
        await start();
      }
      return login.errors;
    })));
  fields.email.input.focus();
}

function changePassword() {
  document.title = 'Change password · Roster';
  const fields = {
    currentPassword: field('currentPassword', 'Current password', { type: 'password', autocomplete: 'current-password', required: true }),
    newPassword: field('newPassword', 'New password', { type: 'password', autocomplete: 'new-password', required: true }),
  };
  show(app, el('div', { class: 'card' },
    el('h1', {}, 'Change password'),
    el('p', { class: 'lead' }, 'Your password was set by someone else. Choose your own to go on.'),
    form(fields, 'Change password', async (values) => {
      const { changePassword: result } = await call('ChangePassword', values);
      if (result.session) {
        session.save(result.session.token);
        await start();
      }
      return result.errors;
    })));
  fields.currentPassword.input.focus();
}

async function signOut() {
  try { await call('SignOut'); } catch { /* the session is forgotten here anyway */ }
  session.clear();
  signIn('You are signed out.');
}

function header(me, current) {
  show(bar,
    el('strong', {}, 'Roster'),
    el('nav', { 'aria-label': 'Screens' }, SCREENS.map(([path, title]) =>
      el('a', { href: `/admin/${path}`, 'aria-current': path === current ? 'page' : null }, title))),
    el('span', { class: 'who' }, `${me.name} · ${me.role.name}`),
    el('button', { class: 'link', type: 'button', onclick: signOut }, 'Sign out'));
}

const formatDate = (value) => (value ? new Date(value).toLocaleString() : '—');

/** A modal dialog (the native one: focus stays inside, Escape closes it). */
function dialog(title, ...content) {
  const node = el('dialog', { 'aria-labelledby': 'dialog-title' },
    el('h2', { id: 'dialog-title' }, title), ...content);
  node.addEventListener('close', () => node.remove());
  document.body.append(node);
  node.showModal();
  return node;
}

const VALIDITY = [['ONE_DAY', '1 day'], ['SEVEN_DAYS', '7 days'], ['THIRTY_DAYS', '30 days']];

/** The Add Member dialog: Invite Developer with a validity and a role. It reads the
 * roles itself (Permission Setting), so it is complete however soon it opens. */
function addMember(onDone) {
  const validity = el('fieldset', { id: 'link-validity' },
    el('legend', {}, 'Link Validity Period'),
    VALIDITY.map(([value, label], i) => el('label', { class: 'choice' },
      el('input', { type: 'radio', name: 'validity', value, checked: i === 1 }), label)));
  const role = field('roleId', 'Permission Setting');
  const select = el('select', { id: 'field-roleId', name: 'roleId', 'aria-describedby': 'field-roleId-error', disabled: true },
    el('option', { value: '' }, 'Loading roles…'));
  role.input.replaceWith(select);
  role.input = select;
  const email = field('email', 'Email', { type: 'email', autocomplete: 'off' }, ' (optional: only this address can accept)');
  const fields = { roleId: role, email };
  const problem = el('p', { class: 'form-error', role: 'alert' });
  const confirm = el('button', { type: 'submit', disabled: true }, 'Confirm');
  const cancel = el('button', { type: 'button', class: 'secondary', onclick: () => node.close() }, 'Cancel');
  const formNode = el('form', { novalidate: true },
    el('h3', {}, 'Invite Developer'), validity, role.node, email.node, problem,
    el('div', { class: 'actions' }, cancel, confirm));
  const node = dialog('Add Member', formNode);
  formNode.addEventListener('submit', async (event) => {
    event.preventDefault();
    confirm.disabled = true;
    try {
      const chosen = formNode.querySelector('input[name="validity"]:checked').value;
      const { invite } = await call('InviteDeveloper', {
        roleId: select.value, validity: chosen, email: email.input.value.trim() || null,
      });
      showErrors(fields, problem, invite.errors);
      if (invite.link) {
        showLink(node, invite);
        onDone();
      }
    } catch (error) {
      problem.textContent = message(error);
    } finally {
      confirm.disabled = false;
    }
  });
  call('AddMemberDialog').then(({ roles }) => {
    show(select, roles.map((r) => el('option', { value: r.id }, r.name)));
    select.disabled = confirm.disabled = false;
    select.focus();
  }).catch((error) => { problem.textContent = message(error); });
}

/** The generated link, shown once, with its expiry and a Copy Link button. */
function showLink(node, invite) {
  const link = el('input', { id: 'invite-link', readonly: true, value: invite.link, 'aria-label': 'Invitation link' });
  const copied = el('span', { class: 'hint', id: 'copy-status', role: 'status' });
  const copy = el('button', { type: 'button', id: 'copy-link', onclick: async () => {
    link.select();
    try {
      await navigator.clipboard.writeText(invite.link);
      copied.textContent = 'Copied.';
    } catch {
      copied.textContent = 'Selected: press Ctrl+C to copy.';
    }
  } }, 'Copy Link');
  show(node,
    el('h2', { id: 'dialog-title' }, 'Invitation link'),
    el('p', {}, `For the role ${invite.invitation.role.name}, valid until ${formatDate(invite.invitation.expiresAt)}.`),
    el('p', { class: 'warning' }, 'This link is shown only once: copy it now and send it to the developer.'),
    link, el('div', { class: 'actions' }, copied, copy,
      el('button', { type: 'button', class: 'secondary', onclick: () => node.close() }, 'Done')));
  copy.focus();
}

/** Member Management: the table, its filters and its pages. */
async function members(me) {
  document.title = 'Member Management · Roster';
  const state = { search: '', status: '', roleId: '', cursors: [null] };
  const search = el('input', { id: 'member-search', type: 'search', placeholder: 'Name or email', 'aria-label': 'Search members' });
  const status = el('select', { id: 'member-status', 'aria-label': 'Status' },
    el('option', { value: '' }, 'All statuses'), el('option', { value: 'ACTIVE' }, 'Active'), el('option', { value: 'FROZEN' }, 'Frozen'));
  const role = el('select', { id: 'member-role', 'aria-label': 'Role' }, el('option', { value: '' }, 'All roles'));
  const body = el('tbody');
  const total = el('span', { id: 'member-total' });
  const previous = el('button', { type: 'button', class: 'secondary', id: 'page-previous' }, 'Previous');
  const next = el('button', { type: 'button', class: 'secondary', id: 'page-next' }, 'Next');
  const problem = el('p', { class: 'form-error', role: 'alert' });
  const can = (permission) => me.role.permissions.includes(permission);
  const add = can('MEMBERS_INVITE')
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
      el('thead', {}, el('tr', {}, ['Name', 'Email', 'Role', 'Status', 'Last sign-in', 'Invited by'].map((h) => el('th', { scope: 'col' }, h)))),
      body)),
    el('div', { class: 'pager' }, total, el('div', {}, previous, next))));

  let rolesShown = false;
  async function load() {
    const filter = {};
    if (state.search.trim()) filter.search = state.search.trim();
    if (state.status) filter.status = state.status;
    if (state.roleId) filter.roleId = state.roleId;
    const after = state.cursors[state.cursors.length - 1];
    previous.disabled = next.disabled = true;
    try {
      const data = await call('MemberList', { first: 20, after, filter });
      problem.textContent = '';
      if (!rolesShown) {
        rolesShown = true;
        role.append(...data.roles.map((r) => el('option', { value: r.id }, r.name)));
      }
      const { nodes, totalCount, pageInfo } = data.members;
      show(body, nodes.length ? nodes.map((m) => el('tr', { 'data-member-id': m.id },
        el('td', {}, m.name), el('td', {}, m.email), el('td', {}, m.role.name),
        el('td', {}, el('span', { class: `status ${m.status}` }, m.status === 'ACTIVE' ? 'Active' : 'Frozen')),
        el('td', {}, formatDate(m.lastLoginAt)), el('td', {}, m.invitedBy?.name ?? '—')))
        : el('tr', {}, el('td', { colspan: 6, class: 'empty' }, 'No members match.')));
      total.textContent = `${totalCount} member${totalCount === 1 ? '' : 's'}`;
      previous.disabled = state.cursors.length === 1;
      next.disabled = !pageInfo.hasNextPage;
      next.dataset.cursor = pageInfo.endCursor ?? '';
    } catch (error) {
      problem.textContent = message(error);
    }
  }
  let typing;
  const searchChanged = () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      if (state.search === search.value) return;
      state.search = search.value; state.cursors = [null]; load();
    }, 250);
  };
  search.addEventListener('input', searchChanged);
  search.addEventListener('change', searchChanged);
  status.addEventListener('change', () => { state.status = status.value; state.cursors = [null]; load(); });
  role.addEventListener('change', () => { state.roleId = role.value; state.cursors = [null]; load(); });
  next.addEventListener('click', () => { state.cursors.push(next.dataset.cursor); load(); });
  previous.addEventListener('click', () => { state.cursors.pop(); load(); });
  await load();
}

async function start() {
  if (!session.present()) return signIn();
  let me;
  try {
    ({ me } = await call('Viewer'));
  } catch (error) {
    if (error.code === 'PASSWORD_CHANGE_REQUIRED') return changePassword();
    session.clear();
    return signIn(error.code === 'UNAUTHENTICATED' ? 'Your session ended. Sign in again.' : message(error));
  }
  if (me.mustChangePassword) return changePassword();
  const screen = window.location.pathname.split('/')[2] || 'members';
  if (window.location.pathname !== `/admin/${screen}`) history.replaceState(null, '', `/admin/${screen}`);
  header(me, screen);
  if (screen === 'members') return members(me);
  show(app, el('section', { class: 'screen' }, el('h1', {}, 'Not found'), el('p', {}, 'This screen does not exist.')));
}

start().catch((error) => show(app, el('p', { class: 'form-error', role: 'alert' }, message(error))));
