// Role management: the roles with what they allow; create, rename, change permissions
// (only those the viewer holds), delete with a role to move members to.
import { call } from './api.js';
import { checksField, el, field, selectField, show } from './dom.js';
import { message } from './forms.js';
import { formDialog } from './dialogs.js';

/** Every permission in the words of the product. */
export const PERMISSIONS = [
  ['MEMBERS_VIEW', 'View members'],
  ['MEMBERS_INVITE', 'Invite members'],
  ['MEMBERS_EDIT_PERMISSION', 'Edit permissions'],
  ['MEMBERS_FREEZE', 'Freeze and recover'],
  ['MEMBERS_RESET_PASSWORD', 'Reset passwords'],
  ['ROLES_MANAGE', 'Manage roles'],
  ['SECURITY_SETTINGS_MANAGE', 'Manage security settings'],
  ['AUDIT_LOG_VIEW', 'View the audit log'],
  ['MEMBERS_SESSIONS_MANAGE', "Manage others' sessions"],
  ['MEMBERS_REMOVE', 'Remove members'],
];
const wordFor = (permission) => PERMISSIONS.find(([p]) => p === permission)?.[1] ?? permission;

/** Create (no `role`) or edit `role`. */
function roleDialog(role, held, done) {
  const name = field('name', 'Name', { autocomplete: 'off', maxlength: 64, value: role?.name ?? '' });
  const description = field('description', 'Description', { autocomplete: 'off', maxlength: 500, value: role?.description ?? '' });
  const allowed = role?.builtIn ? new Set() : held;
  const permissions = checksField('permissions', 'Permissions', PERMISSIONS, new Set(role?.permissions ?? []), allowed);
  if (role?.builtIn) name.input.readOnly = true;
  const { node } = formDialog(role ? 'Edit Role' : 'Create Role', {
    intro: role?.builtIn ? [el('p', { class: 'hint' }, 'The built-in Administrator holds every permission; it cannot be renamed or narrowed.')] : [],
    fields: { name, description, permissions },
    confirmLabel: role ? 'Save' : 'Create Role',
    submit: async (dialogNode) => {
      const input = { description: description.input.value.trim() };
      if (!role?.builtIn) Object.assign(input, { name: name.input.value.trim(), permissions: permissions.input.value });
      const result = role
        ? (await call('UpdateRole', { id: role.id, input })).updateRole
        : (await call('CreateRole', { input })).createRole;
      if (!result.errors.length) { dialogNode.close(); done(); }
      return result.errors;
    },
  });
  node.id = 'role-dialog';
  (role?.builtIn ? description : name).input.focus();
}

function deleteDialog(role, others, done) {
  const fields = {};
  if (role.memberCount > 0 || others.length) {
    fields.reassignTo = selectField('reassignTo', 'Move its members and pending invitations to',
      [['', role.memberCount > 0 ? 'Choose a role' : 'No need: nobody holds it'], ...others.map((r) => [r.id, r.name])]);
  }
  const { node, confirm } = formDialog('Delete Role', {
    intro: [el('p', {}, `Delete the role ${role.name}? ${role.memberCount} member${role.memberCount === 1 ? ' holds' : 's hold'} it.`)],
    fields,
    confirmLabel: 'Delete',
    danger: true,
    submit: async (dialogNode) => {
      const reassignTo = fields.reassignTo?.input.value || null;
      const { deleteRole: result } = await call('DeleteRole', { id: role.id, reassignTo });
      if (!result.errors.length) { dialogNode.close(); done(); }
      return result.errors;
    },
  });
  node.id = 'delete-role';
  (fields.reassignTo?.input ?? confirm).focus();
}

export async function roles(app, viewer) {
  document.title = 'Roles · Roster';
  const held = new Set(viewer.role.permissions);
  const manage = held.has('ROLES_MANAGE');
  const body = el('tbody');
  const problem = el('p', { class: 'form-error', role: 'alert' });
  const create = manage ? el('button', { type: 'button', id: 'create-role', onclick: () => roleDialog(null, held, load) }, '+ Create Role') : null;
  show(app, el('section', { class: 'screen' },
    el('div', { class: 'title' }, el('h1', {}, 'Roles'), create),
    problem,
    el('div', { class: 'table-wrap' }, el('table', { id: 'roles' },
      el('thead', {}, el('tr', {}, ['Name', 'Description', 'Permissions', 'Members', 'Operation'].map((h) => el('th', { scope: 'col' }, h)))),
      body))));

  async function load() {
    try {
      const { roles: all } = await call('RoleList');
      problem.textContent = '';
      const covers = (r) => r.permissions.every((p) => held.has(p));
      show(body, all.map((r) => el('tr', { 'data-role-id': r.id },
        el('td', {}, r.name, r.builtIn ? el('span', { class: 'hint' }, ' (built-in)') : null),
        el('td', { class: 'wrap' }, r.description || '—'),
        el('td', { class: 'wrap' }, r.permissions.length ? r.permissions.map(wordFor).join(', ') : 'None'),
        el('td', {}, String(r.memberCount)),
        el('td', { class: 'operation' }, manage && covers(r) ? [
          el('button', { type: 'button', class: 'link', 'data-act': 'edit', onclick: () => roleDialog(r, held, load) }, 'Edit'),
          r.builtIn ? null : el('button', { type: 'button', class: 'link', 'data-act': 'delete',
            onclick: () => deleteDialog(r, all.filter((o) => o.id !== r.id && covers(o)), load) }, 'Delete'),
        ] : []))));
    } catch (error) {
      problem.textContent = message(error);
    }
  }
  await load();
}
