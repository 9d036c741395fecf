// Building the page from data without innerHTML: text is always text.

/** An element with attributes (`on*` keys become listeners) and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2).toLowerCase(), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
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
