// Invite several: one invitation per email, each bound to its address, with a row per
// email saying its link (shown once) or why not.
import { call } from './api.js';
import { choiceField, el, selectField, show } from './dom.js';
import { formDialog } from './dialogs.js';

/** A message as a sentence, capitalised like the errors shown at fields. */
const sentence = (m) => m.charAt(0).toUpperCase() + m.slice(1);

const VALIDITY = [['ONE_DAY', '1 day'], ['SEVEN_DAYS', '7 days'], ['THIRTY_DAYS', '30 days']];

/** A labelled textarea shaped like `field`'s. */
function area(name, label, hint) {
  const id = `field-${name}`;
  const error = el('span', { class: 'field-error', id: `${id}-error`, role: 'alert' });
  const input = el('textarea', { id, name, rows: 6, 'aria-describedby': `${id}-error` });
  const node = el('label', { for: id }, label, el('span', { class: 'hint' }, hint), input, error);
  return { node, input, error };
}

function showRows(node, results) {
  const done = el('button', { type: 'button', onclick: () => node.close() }, 'Done');
  show(node,
    el('h2', { id: 'dialog-title' }, 'Invitations'),
    el('p', { class: 'warning' }, 'Each link is shown only once: copy them now.'),
    el('table', { id: 'invite-results' }, el('tbody', {}, results.map((r) => el('tr', { class: r.errors.length ? 'failed' : 'ok' },
      el('td', {}, r.email),
      el('td', {}, r.link
        ? [el('input', { readonly: true, value: r.link, 'aria-label': `Link for ${r.email}`, class: 'link-value' }),
          el('button', { type: 'button', class: 'link', onclick: () => navigator.clipboard?.writeText(r.link) }, 'Copy')]
        : sentence(r.errors[0]?.message ?? '')))))),
    el('div', { class: 'actions' }, done));
  done.focus();
}

export function inviteMany(roles, done) {
  const emails = area('emails', 'Emails', ' (one per line, or separated by commas; up to 100)');
  const validity = choiceField('validity', 'Link Validity Period', VALIDITY);
  validity.node.querySelector('input[value="SEVEN_DAYS"]').checked = true;
  // The built-in Administrator is never the role preselected for many people at once.
  const preselected = (roles.find((r) => !r.builtIn) ?? roles[0])?.id;
  const role = selectField('roleId', 'Permission Setting', roles.map((r) => [r.id, r.name]), preselected);
  const { node } = formDialog('Invite Several', {
    fields: { emails, validity, roleId: role },
    confirmLabel: 'Invite',
    submit: async (dialogNode) => {
      const list = emails.input.value.split(/[\n,;]/).map((e) => e.trim()).filter(Boolean);
      const { inviteMany: result } = await call('InviteMany', { roleId: role.input.value, validity: validity.input.value, emails: list });
      if (result.errors.length) return result.errors;
      done();
      showRows(dialogNode, result.results);
      return [];
    },
  });
  node.id = 'invite-many';
  emails.input.focus();
}
