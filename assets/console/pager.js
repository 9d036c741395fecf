// A table screen's pages by cursor: Previous and Next, and the total.
import { el } from './dom.js';

/** A pager whose `load()` shows the page at `.current`. */
export function pager(id, noun, load) {
  const cursors = [null];
  const total = el('span', { id: `${id}-total`, role: 'status' });
  const previous = el('button', { type: 'button', class: 'secondary', id: `${id}-previous` }, 'Previous');
  const next = el('button', { type: 'button', class: 'secondary', id: `${id}-next` }, 'Next');
  let end = null;
  next.addEventListener('click', () => { cursors.push(end); load(); });
  previous.addEventListener('click', () => { cursors.pop(); load(); });
  return {
    node: el('div', { class: 'pager' }, total, el('div', {}, previous, next)),
    /** Back to the first page. */
    reset() { cursors.length = 1; },
    /** The cursor of the page shown now. */
    get current() { return cursors[cursors.length - 1]; },
    busy() { previous.disabled = next.disabled = true; },
    shown({ totalCount, pageInfo }) {
      total.textContent = `${totalCount} ${noun}${totalCount === 1 ? '' : 's'}`;
      previous.disabled = cursors.length === 1;
      next.disabled = !pageInfo.hasNextPage;
      end = pageInfo.endCursor;
    },
  };
}
