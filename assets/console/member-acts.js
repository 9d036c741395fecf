// The acts on one member from its row: Edit Permission, Freeze, Recover, Reset
// Password, Remove. Each asks first, names the version it was shown (so a change made meanwhile
// by someone else is reported, not overwritten) and reports what came of it.
import { call } from './api.js';
import { el, field, selectField, choiceField } from './dom.js';
import { formDialog, showDone, showSecret } from './dialogs.js';

export const who = (member) => `${member.name} (${member.email})`;

/** Closes `node` and runs `done` when the payload is a success. */
function finished(node, payload, done) {
  if (!payload.errors.length) {
    node.close();
    done();
  }
  return payload.errors;
}

/** Edit Permission: a role the viewer may grant, `roles` ([{id, name}]). */
export function editPermission(member, roles, done) {
  const role = selectField('roleId', 'Permission Setting', roles.map((r) => [r.id, r.name]), member.role.id);
  const { node } = formDialog('Edit Permission', {
    intro: [el('p', {}, `The role of ${who(member)}. It takes effect on their next request.`)],
    fields: { roleId: role },
    onStale: done,
    submit: async (dialogNode) => {
      const { editPermission: result } = await call('EditPermission', {
        memberId: member.id, roleId: role.input.value, expectedVersion: member.version,
      });
      return finished(dialogNode, result, done);
    },
  });
  node.id = 'edit-permission';
  role.input.focus();
}

export function freeze(member, done) {
  const reason = field('reason', 'Reason', { autocomplete: 'off', maxlength: 500 }, ' (optional: kept in the audit log)');
  const until = field('until', 'Until', { type: 'datetime-local' }, ' (optional: the freeze ends by itself then, at most a year ahead)');
  const { node } = formDialog('Freeze', {
    intro: [el('p', {}, `Freeze ${who(member)}? They are signed out everywhere at once and cannot sign in until recovered.`)],
    fields: { reason, until },
    confirmLabel: 'Freeze',
    danger: true,
    onStale: done,
    submit: async (dialogNode) => {
      const ends = until.input.value ? new Date(until.input.value) : null;
      if (ends && Number.isNaN(ends.getTime())) {
        return [{ code: 'INVALID_INPUT', field: ['until'], message: 'enter a date and time' }];
      }
      const { freeze: result } = await call('FreezeMember', {
        memberId: member.id, reason: reason.input.value.trim() || null,
        until: ends?.toISOString() ?? null, expectedVersion: member.version,
      });
      return finished(dialogNode, result, done);
    },
  });
  node.id = 'freeze';
  reason.input.focus();
}

export function recover(member, done) {
  const { node, confirm } = formDialog('Recover', {
    intro: [el('p', {}, `Recover ${who(member)}? They can sign in again.`)],
    confirmLabel: 'Recover',
    onStale: done,
    submit: async (dialogNode) => {
      const { recover: result } = await call('RecoverMember', { memberId: member.id, expectedVersion: member.version });
      return finished(dialogNode, result, done);
    },
  });
  node.id = 'recover';
  confirm.focus();
}

const MODES = [
  ['DEFAULT_PASSWORD', 'To the default password', '(from Security Settings)'],
  ['TEMPORARY_PASSWORD', 'To a temporary password', '(shown to you once)'],
  ['RESET_LINK', 'With a reset link', '(valid one hour, shown to you once)'],
];

export function resetPassword(member, done) {
  const mode = choiceField('mode', 'How', MODES);
  const { node } = formDialog('Reset Password', {
    intro: [el('p', {}, `Reset the password of ${who(member)}? Their sessions end, and they must choose a new password at their next sign-in.`)],
    fields: { mode },
    confirmLabel: 'Reset Password',
    danger: true,
    onStale: done,
    submit: async (dialogNode) => {
      const chosen = mode.input.value;
      const { resetPassword: result } = await call('ResetMemberPassword', {
        memberId: member.id, mode: chosen, expectedVersion: member.version,
      });
      if (result.errors.length) return result.errors;
      done();
      if (result.temporaryPassword) {
        showSecret(dialogNode, {
          title: 'Temporary password', label: 'Temporary password', secret: result.temporaryPassword,
          lines: [`${who(member)} signs in with it and must then choose their own.`],
          warning: 'It is shown only once: give it to the member now.',
        });
      } else if (result.resetLink) {
        showSecret(dialogNode, {
          title: 'Reset link', label: 'Reset link', secret: result.resetLink, copyLabel: 'Copy Link',
          lines: [`${who(member)} opens it to choose a new password. It works once, for one hour.`],
          warning: 'It is shown only once: copy it now and send it to the member.',
        });
      } else {
        showDone(dialogNode, 'Password reset',
          `${who(member)} signs in with the default password of the Security Settings and must then choose their own.`);
      }
      return [];
    },
  });
  node.id = 'reset-password';
  mode.input.focus();
}

/** Remove: a second confirmation (typing the member's email) after naming what is
 * erased, since nothing brings it back. */
export function remove(member, done) {
  const reason = field('reason', 'Reason', { autocomplete: 'off', maxlength: 500 }, ' (optional: kept in the audit log)');
  const typed = field('confirmEmail', `Type ${member.email} to confirm`, { autocomplete: 'off', spellcheck: 'false' });
  const { node } = formDialog('Remove Member', {
    intro: [
      el('p', {}, `Remove ${who(member)} for good?`),
      el('ul', { class: 'erased' },
        el('li', {}, `Their email (${member.email}) and name (${member.name}) are erased from Roster and from every audit event; the events stay, about a removed member.`),
        el('li', {}, 'Every session of theirs ends now; their reset links and the invitations they sent stop working; their password stops working.'),
        el('li', {}, 'The address can be invited again, as a new member.')),
      el('p', { class: 'warning' }, 'This cannot be undone.'),
    ],
    fields: { reason, confirmEmail: typed },
    confirmLabel: 'Remove',
    danger: true,
    onStale: done,
    submit: async (dialogNode) => {
      if (typed.input.value.trim().toLowerCase() !== member.email.toLowerCase()) {
        return [{ code: 'INVALID_INPUT', field: ['confirmEmail'], message: "type the member's email exactly to confirm" }];
      }
      const { removeMember: result } = await call('RemoveMember', {
        memberId: member.id, reason: reason.input.value.trim() || null, expectedVersion: member.version,
      });
      return finished(dialogNode, result, done);
    },
  });
  node.id = 'remove-member';
  reason.input.focus();
}
