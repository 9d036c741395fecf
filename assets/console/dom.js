// Building the page from data without innerHTML: text is always text.

/** An element with attributes (`on*` keys become listeners) and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2).toLowerCase(), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces the children of `parent`. */
export function show(parent, ...children) {
  parent.replaceChildren(...children.flat().filter(Boolean));
}

/** A labelled input with room for its error; `form.fields[name]` finds it. */
export function field(name, label, attrs = {}, hint) {
  const id = `field-${name}`;
  const error = el('span', { class: 'field-error', id: `${id}-error`, role: 'alert' });
  const input = el('input', { id, name, 'aria-describedby': `${id}-error`, ...attrs });
  const node = el('label', { for: id }, label, hint ? el('span', { class: 'hint' }, hint) : null, input, error);
  return { node, input, error };
}

/** Shows `errors` (UserError: code, field path, message) next to the fields they name;
 * those naming no field of the form go to `fallback`. */
export function showErrors(fields, fallback, errors) {
  for (const { input, error } of Object.values(fields)) {
    input.removeAttribute('aria-invalid');
    error.textContent = '';
  }
  fallback.textContent = '';
  for (const problem of errors) {
    const name = problem.field?.[problem.field.length - 1];
    const target = name && fields[name];
    const message = problem.message.charAt(0).toUpperCase() + problem.message.slice(1);
    if (target) {
      target.input.setAttribute('aria-invalid', 'true');
      target.error.textContent = message;
    } else {
      fallback.textContent = message;
    }
  }
  const first = errors.map((p) => fields[p.field?.[p.field.length - 1]]).find(Boolean);
  first?.input.focus();
}

/** A labelled select of `options` ([value, text] pairs), shaped like `field`'s. */
export function selectField(name, label, options, selected) {
  const id = `field-${name}`;
  const error = el('span', { class: 'field-error', id: `${id}-error`, role: 'alert' });
  const input = el('select', { id, name, 'aria-describedby': `${id}-error` },
    options.map(([value, text]) => el('option', { value, selected: value === selected }, text)));
  const node = el('label', { for: id }, label, input, error);
  return { node, input, error };
}

/** A fieldset of radio buttons named `name`, the first checked; `.value` reads the
 * choice. Shaped like `field`'s, so errors naming `name` land under it. */
export function choiceField(name, legend, options) {
  const error = el('span', { class: 'field-error', id: `field-${name}-error`, role: 'alert' });
  const node = el('fieldset', { id: `field-${name}`, class: 'choices' },
    el('legend', {}, legend),
    options.map(([value, text, hint], i) => el('label', { class: 'choice' },
      el('input', { type: 'radio', name, value, checked: i === 0 }),
      el('span', {}, text, hint ? el('span', { class: 'hint' }, ` ${hint}`) : null))),
    error);
  const input = {
    get value() { return node.querySelector(`input[name="${name}"]:checked`).value; },
    setAttribute(key, value) { node.setAttribute(key, value); },
    removeAttribute(key) { node.removeAttribute(key); },
    focus() { node.querySelector('input:checked').focus(); },
  };
  return { node, input, error };
}

/** An instant as the reader's locale writes it; a dash for none. */
export const formatDate = (value) => (value
  ? new Date(value).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
  : '—');

/** A fieldset of checkboxes named `name` ([value, text] options), those in `checked`
 * ticked, those not in `allowed` disabled; `.value` reads the ticked values. */
export function checksField(name, legend, options, checked, allowed) {
  const error = el('span', { class: 'field-error', id: `field-${name}-error`, role: 'alert' });
  const node = el('fieldset', { id: `field-${name}`, class: 'checks' },
    el('legend', {}, legend),
    options.map(([value, text]) => el('label', { class: 'choice' },
      el('input', { type: 'checkbox', name, value, checked: checked.has(value), disabled: !allowed.has(value) }), text)),
    error);
  const input = {
    get value() { return [...node.querySelectorAll(`input[name="${name}"]:checked`)].map((box) => box.value); },
    setAttribute(key, value) { node.setAttribute(key, value); },
    removeAttribute(key) { node.removeAttribute(key); },
    focus() { node.querySelector('input:not(:disabled)')?.focus(); },
  };
  return { node, input, error };
}
