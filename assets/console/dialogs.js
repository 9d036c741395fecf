// Modal dialogs (the native <dialog>: focus stays inside, Escape closes) and the one
// way a secret (a link, a temporary password) is shown: once, with a copy button.
import { el, show, showErrors } from './dom.js';
import { message } from './forms.js';

/** Opens a modal dialog titled `title`; it is removed from the page when closed. */
export function dialog(title, ...content) {
  const node = el('dialog', { 'aria-labelledby': 'dialog-title' },
    el('h2', { id: 'dialog-title' }, title), ...content);
  node.addEventListener('close', () => node.remove());
  document.body.append(node);
  node.showModal();
  return node;
}

const STALE = 'Someone else changed this member since you opened it.';

/** A dialog with a form: `intro` nodes, then `fields`, then Cancel and Confirm.
 * `submit(node)` sends the request and returns the payload's errors; each is shown at
 * its field and the dialog stays open with what was typed. On success `submit` closes
 * the dialog or shows what comes next in it. A stale version offers `onStale`. */
export function formDialog(title, { intro = [], fields = {}, confirmLabel = 'Confirm', danger = false, submit, onStale }) {
  const problem = el('p', { class: 'form-error', role: 'alert' });
  const confirm = el('button', { type: 'submit', class: danger ? 'danger' : null }, confirmLabel);
  const cancel = el('button', { type: 'button', class: 'secondary', onclick: () => node.close() }, 'Cancel');
  const form = el('form', { novalidate: true },
    intro, Object.values(fields).map((f) => f.node), problem, el('div', { class: 'actions' }, cancel, confirm));
  const node = dialog(title, form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    confirm.disabled = true;
    try {
      const errors = (await submit(node)) ?? [];
      showErrors(fields, problem, errors);
      if (onStale && errors.some((e) => e.code === 'STALE_VERSION')) {
        show(problem, `${STALE} `, el('button', { type: 'button', class: 'link', id: 'reload', onclick: () => { node.close(); onStale(); } }, 'Reload'));
      }
    } catch (error) {
      problem.textContent = message(error);
    } finally {
      confirm.disabled = false;
    }
  });
  return { node, form, confirm, problem };
}

/** Replaces the content of dialog `node` with `secret`, shown once: `lines` say what
 * it is for, `warning` that it will not be shown again; Copy copies it. */
export function showSecret(node, { title, lines, warning, secret, label, copyLabel = 'Copy' }) {
  const value = el('input', { id: 'secret', readonly: true, value: secret, 'aria-label': label });
  const copied = el('span', { class: 'hint', id: 'copy-status', role: 'status' });
  const copy = el('button', { type: 'button', id: 'copy-secret', onclick: async () => {
    value.select();
    try {
      await navigator.clipboard.writeText(secret);
      copied.textContent = 'Copied.';
    } catch {
      copied.textContent = 'Selected: press Ctrl+C to copy.';
    }
  } }, copyLabel);
  show(node,
    el('h2', { id: 'dialog-title' }, title),
    lines.map((line) => el('p', {}, line)),
    el('p', { class: 'warning' }, warning),
    value, el('div', { class: 'actions' }, copied, copy,
      el('button', { type: 'button', class: 'secondary', onclick: () => node.close() }, 'Done')));
  copy.focus();
}

/** Replaces the content of dialog `node` with a plain outcome and a Done button. */
export function showDone(node, title, ...lines) {
  const done = el('button', { type: 'button', onclick: () => node.close() }, 'Done');
  show(node, el('h2', { id: 'dialog-title' }, title), lines.map((line) => el('p', {}, line)),
    el('div', { class: 'actions' }, done));
  done.focus();
}
