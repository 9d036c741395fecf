// The Member Management console at /admin. It talks to Roster only through
// POST /graphql with the documents of operations/, like any frontend would.
import { call, onSessionEnded, session } from './api.js';
import { el, field, show } from './dom.js';
import { form, message } from './forms.js';
import { members } from './members.js';
import { invitations } from './invitations.js';
import { roles } from './roles.js';
import { settings } from './settings.js';
import { audit } from './audit.js';
import { sessionsDialog } from './sessions.js';

const app = document.getElementById('app');
const bar = document.getElementById('bar');

/** The screens: path, title, the permission that shows it, what draws it. */
const SCREENS = [
  ['members', 'Member Management', 'MEMBERS_VIEW', members],
  ['invitations', 'Invitations', 'MEMBERS_VIEW', invitations],
  ['roles', 'Roles', null, roles],
  ['settings', 'Security Settings', 'SECURITY_SETTINGS_MANAGE', settings],
  ['audit', 'Audit log', 'AUDIT_LOG_VIEW', audit],
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

function header(me, screens, current) {
  show(bar,
    el('strong', {}, 'Roster'),
    el('nav', { 'aria-label': 'Screens' }, screens.map(([path, title]) =>
      el('a', { href: `/admin/${path}`, 'aria-current': path === current ? 'page' : null, onclick: (event) => {
        if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        history.pushState(null, '', `/admin/${path}`);
        start();
      } }, title))),
    el('span', { class: 'who' }, `${me.name} · ${me.role.name}`),
    el('button', { class: 'link', type: 'button', id: 'my-sessions', onclick: () => sessionsDialog(me, true) }, 'Your sessions'),
    el('button', { class: 'link', type: 'button', id: 'sign-out', onclick: signOut }, 'Sign out'));
}

async function start() {
  if (!session.present()) return signIn();
  let me;
  try {
    ({ me } = await call('Viewer'));
  } catch (error) {
    if (error.code === 'PASSWORD_CHANGE_REQUIRED') return changePassword();
    if (error.code === 'UNAUTHENTICATED') return undefined;
    session.clear();
    return signIn(message(error));
  }
  if (me.mustChangePassword) return changePassword();
  const screens = SCREENS.filter(([, , permission]) => !permission || me.role.permissions.includes(permission));
  const wanted = window.location.pathname.split('/')[2];
  const screen = screens.find(([path]) => path === wanted) ?? (wanted ? null : screens[0]);
  header(me, screens, screen?.[0]);
  if (!screen) {
    show(app, el('section', { class: 'screen' }, el('h1', {}, 'Not found'),
      el('p', {}, 'This screen does not exist, or your role does not show it.')));
    return undefined;
  }
  if (window.location.pathname !== `/admin/${screen[0]}`) history.replaceState(null, '', `/admin/${screen[0]}`);
  return screen[3](app, me);
}

onSessionEnded(() => {
  document.querySelectorAll('dialog').forEach((open) => open.close());
  signIn('Your session ended. Sign in again.');
});
window.addEventListener('popstate', () => start());
start().catch((error) => show(app, el('p', { class: 'form-error', role: 'alert' }, message(error))));
