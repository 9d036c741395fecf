// Roster's GraphiQL: served with every asset it needs by Roster itself, under a
// content security policy that allows scripts and styles from Roster only.
(function () {
  'use strict';

  var TOKEN = 'roster.graphiql.token';
  var loading = document.getElementById('roster-loading');

  if (!window.GraphiQL || !window.React || !window.ReactDOM) {
    loading.textContent = 'GraphiQL could not start: its scripts did not load. The API answers at /graphql.';
    return;
  }

  var DEFAULT_QUERY = [
    '# Welcome to Roster.',
    '#',
    '# Sign in first: put your email and password',
    '# in Variables below, then run SignIn',
    '# (Ctrl-Enter with the cursor in it).',
    '# This tab then sends your session token with',
    '# every request; an Authorization header set',
    '# in the Headers tab takes precedence.',
    '# Ctrl-Space completes; Docs lists every field.',
    '',
    'mutation SignIn($email: String!, $password: String!) {',
    '  login(email: $email, password: $password) {',
    '    session { token expiresAt member { name mustChangePassword } }',
    '    errors { code field message }',
    '  }',
    '}',
    '',
    'query Members {',
    '  members(first: 20) {',
    '    totalCount',
    '    nodes { id name email status role { name } lastLoginAt }',
    '    pageInfo { hasNextPage endCursor }',
    '  }',
    '}',
    '',
    '# Live: run it, then change a member in another tab.',
    'subscription Changes {',
    '  memberChanged { cursor action at member { name status } role { name } actor { name } }',
    '}',
    '',
    'mutation SignOut {',
    '  logout',
    '}',
    ''
  ].join('\n');

  var SIGN_IN_VARIABLES = '{\n  "email": "admin@localhost",\n  "password": ""\n}\n';

  var endpoint = new URL('/graphql', window.location.href).href;
  var socketUrl = new URL('/graphql', window.location.href);
  socketUrl.protocol = socketUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  // Subscriptions go over graphql-transport-ws, signed in with the tab's session (or
  // the Authorization header of the Headers tab, when set).
  var headersTab = {};
  var wsClient = window.graphqlWs && window.graphqlWs.createClient({
    url: socketUrl.href,
    lazy: true,
    connectionParams: function () {
      var named = Object.keys(headersTab).filter(function (name) {
        return name.toLowerCase() === 'authorization';
      })[0];
      var token = sessionStorage.getItem(TOKEN);
      return { Authorization: named ? headersTab[named] : token ? 'Bearer ' + token : '' };
    }
  });
  // Roster has no @defer or @stream: plain responses, which the sign-in below reads.
  var send = window.GraphiQL.createFetcher({ url: endpoint, enableIncrementalDelivery: false, wsClient: wsClient || undefined });

  function hasAuthorization(headers) {
    return Object.keys(headers || {}).some(function (name) {
      return name.toLowerCase() === 'authorization';
    });
  }

  function remember(result) {
    var data = result && result.data;
    var signedIn = data && (data.login || data.changePassword || data.acceptInvitation);
    if (signedIn && signedIn.session && signedIn.session.token) {
      sessionStorage.setItem(TOKEN, signedIn.session.token);
    } else if (data && data.logout) {
      sessionStorage.removeItem(TOKEN);
    }
    return result;
  }

  function fetcher(params, options) {
    var headers = Object.assign({}, options && options.headers);
    headersTab = headers;
    var token = sessionStorage.getItem(TOKEN);
    if (token && !hasAuthorization(headers)) {
      headers.Authorization = 'Bearer ' + token;
    }
    var result = send(params, Object.assign({}, options, { headers: headers }));
    return result && typeof result.then === 'function' ? result.then(remember) : result;
  }

  // GraphiQL's dialogs add a <style> element at run time (react-remove-scroll); it
  // carries this nonce, which the page's policy allows for this response only.
  var nonce = document.querySelector('meta[name="roster-style-nonce"]');
  window.__webpack_nonce__ = nonce ? nonce.content : undefined;

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(window.GraphiQL, {
    fetcher: fetcher,
    defaultQuery: DEFAULT_QUERY,
    // The first tab's variables (the props named initial* are not read by 4.1).
    variables: SIGN_IN_VARIABLES,
    defaultEditorToolsVisibility: true,
    shouldPersistHeaders: false
  }));
})();
