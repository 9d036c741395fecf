// A member's sessions in a dialog: where and when each signed in, when last used;
// revoke one, or all (for oneself, all but this browser's).
import { call } from './api.js';
import { el, formatDate, show } from './dom.js';
import { message } from './forms.js';
import { dialog } from './dialogs.js';

/** The sessions of `member` ({id, name}), or the viewer's own when `own`. */
export function sessionsDialog(member, own) {
  const body = el('tbody');
  const problem = el('p', { class: 'form-error', role: 'alert' });
  const status = el('p', { class: 'hint', role: 'status', id: 'sessions-status' });
  const all = el('button', { type: 'button', class: 'danger', id: 'revoke-all' },
    own ? 'Sign out other sessions' : 'Revoke all');
  const close = el('button', { type: 'button', class: 'secondary', onclick: () => node.close() }, 'Close');
  const node = dialog(own ? 'Your sessions' : `Sessions of ${member.name}`,
    el('div', { class: 'table-wrap' }, el('table', { id: 'sessions' },
      el('thead', {}, el('tr', {}, ['Signed in', 'Last used', 'Ends', 'From', ''].map((h) => el('th', { scope: 'col' }, h)))),
      body)),
    problem, status, el('div', { class: 'actions' }, all, close));
  node.classList.add('wide');
  node.id = 'sessions-dialog';

  async function revoke(button, run) {
    button.disabled = true;
    try {
      const result = await run();
      if (result.errors.length) {
        problem.textContent = result.errors[0].message;
      } else {
        status.textContent = `${result.revokedCount} session${result.revokedCount === 1 ? '' : 's'} ended.`;
      }
      await load();
    } catch (error) {
      problem.textContent = message(error);
    } finally {
      button.disabled = false;
    }
  }
  async function load() {
    try {
      const data = own ? (await call('MySessions')).me : (await call('MemberSessions', { id: member.id })).member;
      problem.textContent = '';
      show(body, data.sessions.length ? data.sessions.map((s) => {
        const end = el('button', { type: 'button', class: 'link', 'data-act': 'revoke-session' }, 'Revoke');
        end.addEventListener('click', () => revoke(end, async () => (await call('RevokeSession', { id: s.id })).revokeSession));
        return el('tr', { 'data-session-id': s.id },
          el('td', {}, formatDate(s.createdAt), s.current ? el('span', { class: 'chip' }, ' this browser') : null),
          el('td', {}, formatDate(s.lastSeenAt)), el('td', {}, formatDate(s.expiresAt)),
          el('td', { class: 'wrap' }, [s.ip, s.userAgent].filter(Boolean).join(' · ') || '—'),
          el('td', {}, s.current ? null : end));
      }) : el('tr', {}, el('td', { colspan: 5, class: 'empty' }, 'No live sessions.')));
      all.disabled = !data.sessions.some((s) => !s.current);
      all.onclick = () => revoke(all, async () => (await call('RevokeAllSessions', { memberId: data.id })).revokeAllSessions);
    } catch (error) {
      problem.textContent = message(error);
    }
  }
  load();
}
