// The documents of operations/ (what a frontend starts from), one standalone
// document per operation with the fragments it spreads, as clients send them.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, visit } from 'graphql';

export const OPERATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../operations');

const all = parse(
  readdirSync(OPERATIONS_DIR)
    .filter((f) => f.endsWith('.graphql'))
    .map((f) => readFileSync(join(OPERATIONS_DIR, f), 'utf8'))
    .join('\n'),
);
const fragments = new Map(
  all.definitions.filter((d) => d.kind === 'FragmentDefinition').map((d) => [d.name.value, d]),
);

function spreads(node, found = new Set()) {
  visit(node, {
    FragmentSpread(spread) {
      const name = spread.name.value;
      if (!found.has(name)) {
        found.add(name);
        spreads(fragments.get(name), found);
      }
    },
  });
  return found;
}

/** The document of operation `name`: it and the fragments it uses. */
export function operation(name) {
  const op = all.definitions.find((d) => d.kind === 'OperationDefinition' && d.name?.value === name);
  if (!op) throw new Error(`no operation ${name} in operations/`);
  return { kind: 'Document', definitions: [op, ...[...spreads(op)].map((f) => fragments.get(f))] };
}
