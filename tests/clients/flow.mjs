// The member-management flow, run by each client a frontend team picks, with its
// default options, against a running Roster, using the documents of operations/.
// Usage: node flow.mjs <graphql url> <admin email> <admin password>
// Prints { "<client>": { ok, steps, error } } as JSON.
import { createHash } from 'node:crypto';
import { print } from 'graphql';
import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { Client as UrqlClient, cacheExchange, fetchExchange } from '@urql/core';
import { GraphQLClient as GraphQLClient4 } from 'graphql-request4';
import { GraphQLClient as GraphQLClient7 } from 'graphql-request7';
import { operation } from './operations.mjs';

const [url, adminEmail, adminPassword] = process.argv.slice(2);
const auth = (token) => (token ? { authorization: `Bearer ${token}` } : {});

// Each client as: run(operationName, variables, token) -> data, throwing on errors.
function apollo({ persisted }) {
  const sent = [];
  const http = new HttpLink({
    uri: url,
    fetch: (input, init) => {
      sent.push(init?.method ?? 'GET');
      return fetch(input, init);
    },
  });
  const sha256 = (text) => createHash('sha256').update(text).digest('hex');
  const link = persisted
    ? new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(http)
    : http;
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const run = async (name, variables, token) => {
    const doc = operation(name);
    const context = { headers: auth(token) };
    const isMutation = doc.definitions[0].operation === 'mutation';
    const result = isMutation
      ? await client.mutate({ mutation: doc, variables, context })
      : await client.query({ query: doc, variables, context, fetchPolicy: 'network-only' });
    if (result.error) throw result.error;
    return result.data;
  };
  run.sent = sent;
  return run;
}

function urql() {
  const methods = [];
  const client = new UrqlClient({
    url,
    exchanges: [cacheExchange, fetchExchange],
    fetch: (input, init) => {
      methods.push(init?.method ?? 'GET');
      return fetch(input, init);
    },
  });
  const run = async (name, variables, token) => {
    const doc = operation(name);
    const options = { fetchOptions: { headers: auth(token) }, requestPolicy: 'network-only' };
    const call = doc.definitions[0].operation === 'mutation' ? client.mutation : client.query;
    const result = await call.call(client, doc, variables, options).toPromise();
    if (result.error) throw result.error;
    return result.data;
  };
  run.sent = methods;
  return run;
}

function graphqlRequest(GraphQLClient) {
  return async (name, variables, token) => {
    const client = new GraphQLClient(url, { headers: auth(token) });
    return client.request(print(operation(name)), variables);
  };
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function noErrors(payload, step) {
  check(payload.errors.length === 0, `${step}: ${JSON.stringify(payload.errors)}`);
  return payload;
}

async function flow(client, label) {
  const steps = [];
  const step = (name) => steps.push(name);
  const signIn = await client('SignIn', { email: adminEmail, password: adminPassword });
  const admin = noErrors(signIn.login, 'SignIn').session.token;
  step('SignIn');
  const list = await client('MemberList', { first: 5, filter: { status: 'ACTIVE' } }, admin);
  check(list.members.totalCount >= 1 && list.members.nodes.length >= 1, 'MemberList');
  step('MemberList');
  const role = noErrors(
    (await client('CreateRole', { input: { name: `Developer ${label}`, permissions: ['MEMBERS_VIEW'] } }, admin)).createRole,
    'CreateRole',
  ).role;
  const other = noErrors(
    (await client('CreateRole', { input: { name: `Reviewer ${label}`, permissions: ['MEMBERS_VIEW', 'AUDIT_LOG_VIEW'] } }, admin)).createRole,
    'CreateRole',
  ).role;
  const dialog = await client('AddMemberDialog', {}, admin);
  check(dialog.roles.some((r) => r.id === role.id), 'AddMemberDialog lists the new role');
  step('AddMemberDialog');
  const email = `${label}@example.com`;
  const invite = noErrors((await client('InviteDeveloper', { roleId: role.id, validity: 'SEVEN_DAYS', email }, admin)).invite, 'Invite');
  const secret = invite.link.split('/').pop();
  step('InviteDeveloper');
  const offer = await client('InvitationOffer', { token: secret });
  check(offer.invitationPreview?.roleName === role.name, 'InvitationOffer');
  const joined = noErrors(
    (await client('AcceptInvitation', { token: secret, email, name: `Dev ${label}`, password: 'developer-password-1' })).acceptInvitation,
    'AcceptInvitation',
  );
  const member = joined.session.member;
  step('AcceptInvitation');
  const edited = noErrors((await client('EditPermission', { memberId: member.id, roleId: other.id }, admin)).editPermission, 'EditPermission');
  check(edited.member.role.id === other.id, 'EditPermission moved the member');
  step('EditPermission');
  const frozen = noErrors((await client('FreezeMember', { memberId: member.id, reason: 'flow check' }, admin)).freeze, 'Freeze');
  check(frozen.member.status === 'FROZEN', 'Freeze');
  const recovered = noErrors((await client('RecoverMember', { memberId: member.id }, admin)).recover, 'Recover');
  check(recovered.member.status === 'ACTIVE', 'Recover');
  step('FreezeRecover');
  const reset = noErrors(
    (await client('ResetMemberPassword', { memberId: member.id, mode: 'TEMPORARY_PASSWORD' }, admin)).resetPassword,
    'ResetPassword',
  );
  check(reset.temporaryPassword && reset.member.mustChangePassword, 'ResetPassword');
  step('ResetPassword');
  const audit = await client('AuditLog', { first: 10, filter: { targetMemberId: member.id } }, admin);
  check(audit.auditEvents.totalCount >= 4, 'AuditLog');
  step('AuditLog');
  check((await client('SignOut', {}, admin)).logout === true, 'SignOut');
  step('SignOut');
  return steps;
}

const clients = {
  'apollo-client': apollo({ persisted: false }),
  'apollo-client-persisted-queries': apollo({ persisted: true }),
  urql: urql(),
  'graphql-request-4': graphqlRequest(GraphQLClient4),
  'graphql-request-7': graphqlRequest(GraphQLClient7),
};
const out = {};
for (const [label, client] of Object.entries(clients)) {
  try {
    const steps = await flow(client, label);
    out[label] = { ok: true, steps, methods: client.sent ? [...new Set(client.sent)] : undefined };
  } catch (e) {
    out[label] = { ok: false, error: String(e?.stack ?? e).slice(0, 800) };
  }
}
console.log(JSON.stringify(out, null, 2));
