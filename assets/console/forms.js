// Forms that send one operation: errors shown where they belong, the button disabled
// while the request runs, and what was typed kept when it fails.
import { ApiError } from './api.js';
import { el, showErrors } from './dom.js';

/** What to tell a person about `error`. */
export function message(error) {
  return error instanceof ApiError ? error.message : 'Something went wrong. Try again.';
}

/** A form of `fields` whose submit runs `submit(values)`, which returns the payload's
 * UserErrors; each is shown at the field it names. */
export function form(fields, label, submit) {
  const problem = el('p', { class: 'form-error', role: 'alert' });
  const button = el('button', { type: 'submit' }, label);
  const node = el('form', { novalidate: true }, Object.values(fields).map((f) => f.node), problem, button);
  node.addEventListener('submit', async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      const values = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.input.value]));
      showErrors(fields, problem, (await submit(values)) ?? []);
    } catch (error) {
      problem.textContent = message(error);
    } finally {
      button.disabled = false;
    }
  });
  return node;
}
