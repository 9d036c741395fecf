// Sends the standard introspection queries of graphql-js 15 and 16 (every option on,
// as GraphiQL, Apollo and graphql-codegen send them) to a running Roster and builds a
// client schema from each answer. Usage: node introspect.mjs <graphql url> [token]
// Prints one JSON object: { "<variant>": { ok, types, error } ... }.
import * as graphql16 from 'graphql';
import * as graphql15 from 'graphql15';

const [url, token] = process.argv.slice(2);
const variants = {
  'graphql15': [graphql15, { descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }],
  'graphql16': [graphql16, { descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }],
  'graphql16-oneOf': [graphql16, { descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true }],
  'graphql16-defaults': [graphql16, undefined],
};
const out = {};
for (const [name, [lib, options]] of Object.entries(variants)) {
  const query = lib.getIntrospectionQuery(options);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, operationName: 'IntrospectionQuery' }),
  });
  const body = await response.json();
  try {
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    const schema = lib.buildClientSchema(body.data);
    out[name] = { ok: true, status: response.status, types: Object.keys(schema.getTypeMap()).length, hasMembers: Boolean(schema.getQueryType().getFields().members) };
  } catch (e) {
    out[name] = { ok: false, status: response.status, error: String(e.message).slice(0, 300) };
  }
}
console.log(JSON.stringify(out, null, 2));
