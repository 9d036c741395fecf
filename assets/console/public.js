// The pages behind Roster's links: /invite/<token> (sign up through an invitation)
// and /reset-password/<token> (choose a new password). Public: no session needed.
import { call, session } from './api.js';
import { el, field, show } from './dom.js';
import { form, message } from './forms.js';

const app = document.getElementById('app');
const [, page, token] = window.location.pathname.split('/');

function unusable(title, why) {
  document.title = `${title} · Roster`;
  show(app,
    el('h1', {}, title),
    el('p', { class: 'lead' }, why),
    el('p', {}, 'Ask an administrator for a new link.'));
}

function failure(error) {
  show(app, el('h1', {}, 'Something went wrong'), el('p', { class: 'form-error', role: 'alert' }, message(error)));
}

function welcome(member, what) {
  document.title = 'Welcome · Roster';
  show(app,
    el('h1', { class: 'done' }, `Welcome, ${member.name}`),
    el('p', { class: 'lead' }, what),
    el('p', {}, `You are signed in as ${member.email}. This browser tab keeps your session.`));
}

async function invitation() {
  document.title = 'Accept invitation · Roster';
  const { invitationPreview: offer } = await call('InvitationOffer', { token });
  if (!offer) {
    return unusable('This invitation link cannot be used',
      'It may have expired, been revoked, or been used already: each link works once.');
  }
  const expires = new Date(offer.expiresAt).toLocaleString();
  const fields = {
    email: field('email', 'Email', { type: 'email', autocomplete: 'email', required: true, value: offer.email ?? '', readonly: Boolean(offer.email) }),
    name: field('name', 'Name', { autocomplete: 'name', required: true }),
    password: field('password', 'Password', { type: 'password', autocomplete: 'new-password', required: true }),
  };
  show(app,
    el('h1', {}, 'Join Roster'),
    el('p', { class: 'lead' }, `You are invited with the role `, el('strong', { id: 'offered-role' }, offer.roleName), `. This link works until ${expires}.`),
    form(fields, 'Create account', async (values) => {
      const { acceptInvitation: result } = await call('AcceptInvitation', { token, ...values });
      if (result.session) {
        session.save(result.session.token);
        welcome(result.session.member, `Your account has the role ${offer.roleName}.`);
      }
      return result.errors;
    }));
  (offer.email ? fields.name : fields.email).input.focus();
}

async function reset() {
  document.title = 'Choose a new password · Roster';
  const fields = {
    newPassword: field('newPassword', 'New password', { type: 'password', autocomplete: 'new-password', required: true }),
  };
  show(app,
    el('h1', {}, 'Choose a new password'),
    el('p', { class: 'lead' }, 'An administrator reset your password. The link works once.'),
    form(fields, 'Set password', async (values) => {
      const { completePasswordReset: result } = await call('CompletePasswordReset', { token, ...values });
      if (result.session) {
        session.save(result.session.token);
        welcome(result.session.member, 'Your new password is set.');
      }
      const dead = result.errors.find((e) => e.code === 'TOKEN_INVALID');
      if (dead) {
        unusable('This reset link cannot be used', 'It may have expired or been used already: each link works once.');
        return [];
      }
      return result.errors;
    }));
  fields.newPassword.input.focus();
}

const pages = { invite: invitation, 'reset-password': reset };
(pages[page] ?? (() => unusable('Unknown page', 'This address leads nowhere.')))().catch(failure);
