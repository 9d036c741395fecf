// graphql-codegen (typescript + typescript-operations) over the documents of
// operations/, against the live schema at a running Roster's URL: what a frontend's
// build runs. Usage: node codegen.mjs <graphql url> <output .ts file>
// Exits 1 when generation fails (an operation no longer fits the schema).
import { generate } from '@graphql-codegen/cli';
import { OPERATIONS_DIR } from './operations.mjs';

const [url, output, extra] = process.argv.slice(2);
try {
  const files = await generate(
    {
      schema: url,
      documents: [`${OPERATIONS_DIR}/*.graphql`, ...(extra ? [extra] : [])],
      generates: { [output]: { plugins: ['typescript', 'typescript-operations'] } },
      silent: true,
    },
    true,
  );
  console.log(JSON.stringify({ ok: true, files: files.map((f) => f.filename) }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e?.message ?? e).slice(0, 2000) }));
  process.exit(1);
}
