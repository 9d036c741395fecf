// Security Settings: the default password (write-only: the console only learns
// whether one is set), password minimum length, session lifetime, reset validity, and
// how long the audit log keeps events (empty: for ever).
import { call } from './api.js';
import { el, field, formatDate, show } from './dom.js';
import { form } from './forms.js';

const NUMBERS = ['passwordMinLength', 'sessionTtlMinutes', 'resetPasswordValidHours'];

export async function settings(app) {
  document.title = 'Security Settings · Roster';
  const { securitySettings: current } = await call('SecuritySettings');
  const state = el('p', { class: 'hint', id: 'settings-state' });
  const fields = {
    defaultPassword: field('defaultPassword', 'Default password', { type: 'password', autocomplete: 'new-password' },
      ' (write-only; leave empty to keep it; members reset to it must change it at sign-in)'),
    passwordMinLength: field('passwordMinLength', 'Password minimum length', { type: 'number', min: 8, max: 128, required: true }, ' (8 to 128)'),
    sessionTtlMinutes: field('sessionTtlMinutes', 'Session lifetime in minutes', { type: 'number', min: 5, max: 43200, required: true }, ' (5 to 43200; new sessions)'),
    resetPasswordValidHours: field('resetPasswordValidHours', 'Reset password valid for hours', { type: 'number', min: 1, max: 720, required: true }, ' (1 to 720)'),
    auditRetentionDays: field('auditRetentionDays', 'Keep audit events for days', { type: 'number', min: 1, max: 3650 }, ' (1 to 3650; empty keeps them for ever)'),
  };
  const describe = (s) => {
    for (const key of NUMBERS) fields[key].input.value = s[key];
    fields.auditRetentionDays.input.value = s.auditRetentionDays ?? '';
    fields.defaultPassword.input.value = '';
    state.textContent = `${s.defaultPasswordConfigured ? 'A default password is set.' : 'No default password is set: Reset Password to the default is refused until one is.'} Last changed ${formatDate(s.updatedAt)}.`;
  };
  describe(current);
  const saved = el('p', { class: 'done', role: 'status', id: 'settings-saved' });
  show(app, el('section', { class: 'screen narrow' },
    el('h1', {}, 'Security Settings'), state,
    form(fields, 'Save', async (values) => {
      saved.textContent = '';
      const input = values.defaultPassword ? { defaultPassword: values.defaultPassword } : {};
      const bad = [];
      for (const key of NUMBERS) {
        const number = Number(values[key]);
        if (values[key].trim() === '' || !Number.isInteger(number)) {
          bad.push({ code: 'INVALID_INPUT', field: [key], message: 'enter a whole number' });
        } else {
          input[key] = number;
        }
      }
      const days = values.auditRetentionDays.trim();
      if (days === '') input.auditRetentionDays = null;
      else if (Number.isInteger(Number(days))) input.auditRetentionDays = Number(days);
      else bad.push({ code: 'INVALID_INPUT', field: ['auditRetentionDays'], message: 'enter a whole number, or leave it empty' });
      if (bad.length) return bad;
      const { updateSecuritySettings: result } = await call('UpdateSecuritySettings', { input });
      if (result.securitySettings) {
        describe(result.securitySettings);
        saved.textContent = 'Saved.';
      }
      return result.errors;
    }),
    saved));
}
