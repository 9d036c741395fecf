// Acts on the members selected in the table: Freeze, Recover and Edit Permission for
// all of them in one call, then the outcome for each member.
import { call } from './api.js';
import { el, field, selectField, show } from './dom.js';
import { formDialog } from './dialogs.js';

/** Replaces dialog `node` with a line per member of `outcome` (a BulkMemberPayload):
 * what happened to them, or why not. */
function showOutcome(node, title, outcome, chosen) {
  const name = (id) => chosen.get(id)?.name ?? `member ${id}`;
  const done = el('button', { type: 'button', onclick: () => node.close() }, 'Done');
  show(node,
    el('h2', { id: 'dialog-title' }, title),
    el('p', { id: 'bulk-summary' }, `${outcome.succeeded} done, ${outcome.failed} failed.`),
    el('ul', { class: 'results', id: 'bulk-results' }, outcome.results.map((r) => el('li', {
      'data-member-id': r.memberId, class: r.errors.length ? 'failed' : 'ok',
    }, `${name(r.memberId)}: `, r.errors.length ? r.errors[0].message : (r.changed ? 'done' : 'no change')))),
    el('div', { class: 'actions' }, done));
  done.focus();
}

/** A dialog acting on every member of `chosen` (a Map id → member): `fields`, then
 * `send(ids, values)` returns the payload. */
function bulkDialog(title, chosen, { fields = {}, confirmLabel, danger = false, send, done }) {
  const ids = [...chosen.keys()];
  const { node } = formDialog(title, {
    intro: [el('p', {}, `${chosen.size} selected: ${[...chosen.values()].map((m) => m.name).join(', ')}.`)],
    fields,
    confirmLabel,
    danger,
    submit: async (dialogNode) => {
      const outcome = await send(ids);
      if (outcome.errors.length) return outcome.errors;
      done();
      showOutcome(dialogNode, title, outcome, chosen);
      return [];
    },
  });
  node.id = 'bulk-dialog';
  return node;
}

export function bulkFreeze(chosen, done) {
  const reason = field('reason', 'Reason', { autocomplete: 'off', maxlength: 500 }, ' (optional)');
  const until = field('until', 'Until', { type: 'datetime-local' }, ' (optional: the freeze ends by itself then)');
  bulkDialog('Freeze Members', chosen, {
    fields: { reason, until },
    confirmLabel: 'Freeze',
    danger: true,
    done,
    send: async (memberIds) => (await call('BulkFreeze', {
      memberIds, reason: reason.input.value.trim() || null,
      until: until.input.value ? new Date(until.input.value).toISOString() : null,
    })).bulkFreeze,
  });
}

export function bulkRecover(chosen, done) {
  bulkDialog('Recover Members', chosen, {
    confirmLabel: 'Recover',
    done,
    send: async (memberIds) => (await call('BulkRecover', { memberIds })).bulkRecover,
  });
}

export function bulkEditPermission(chosen, roles, done) {
  const role = selectField('roleId', 'Permission Setting', roles.map((r) => [r.id, r.name]));
  bulkDialog('Edit Permission', chosen, {
    fields: { roleId: role },
    confirmLabel: 'Save',
    done,
    send: async (memberIds) => (await call('BulkEditPermission', { memberIds, roleId: role.input.value })).bulkEditPermission,
  });
}
