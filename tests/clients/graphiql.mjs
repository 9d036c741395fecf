// GraphiQL at a running Roster's `/`, in headless Chromium with the network cut: every
// request that does not go to Roster itself is refused and recorded. Signs in from
// the page, lists Query.members in the docs explorer, completes a field name, runs a
// query. Usage: node graphiql.mjs <base url> <email> <password>
// Prints { ok, external, violations, errors, docsListMembers, completion, signIn, members }.
import { chromium } from 'playwright-core';

const [base, email, password] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.ROSTER_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const out = { external: [], violations: [], errors: [] };
try {
  const context = await browser.newContext();
  const origin = new URL(base).origin;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin)) return route.continue();
    out.external.push(url);
    return route.abort('internetdisconnected');
  });
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  page.on('pageerror', (e) => out.errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') out.errors.push(m.text()); });
  await page.goto(`${base}/`);
  await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: 20000 });
  const editor = (selector) => `document.querySelector('${selector} .CodeMirror').CodeMirror`;
  const query = editor('.graphiql-query-editor');
  const variables = editor('.graphiql-editor-tool .graphiql-editor:not(.hidden)');
  out.defaultQuery = await page.evaluate(`${query}.getValue()`);
  out.defaultVariables = await page.evaluate(`${variables}.getValue()`);

  // The docs explorer lists Query's fields.
  await page.getByRole('button', { name: /documentation explorer/i }).first().click();
  await page.locator('.graphiql-doc-explorer').getByText('Query', { exact: true }).first().click();
  await page.locator('.graphiql-doc-explorer').getByText('members', { exact: true }).first().waitFor({ timeout: 10000 });
  out.docsListMembers = true;

  // Autocomplete offers the schema's fields.
  await page.evaluate(`${query}.setValue('{ mem')`);
  await page.evaluate(`${query}.focus(); ${query}.setCursor({ line: 0, ch: 6 })`);
  await page.keyboard.press('Control+Space');
  const hints = page.locator('.CodeMirror-hints');
  await hints.waitFor({ timeout: 10000 });
  out.completion = await hints.innerText();

  const run = async (text, vars) => {
    await page.evaluate(`${query}.setValue(${JSON.stringify(text)})`);
    await page.evaluate(`${variables}.setValue(${JSON.stringify(vars)})`);
    // GraphiQL takes editor changes in after a debounce.
    await page.waitForTimeout(1000);
    await page.locator('.graphiql-execute-button').click();
    await page.waitForFunction(
      () => /"(data|errors)"/.test(document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()),
      null,
      { timeout: 15000 },
    );
    const value = await page.evaluate(`document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()`);
    await page.evaluate(`document.querySelector('.graphiql-response .CodeMirror').CodeMirror.setValue('')`);
    return JSON.parse(value);
  };
  out.signIn = await run(
    'mutation SignIn($email: String!, $password: String!) { login(email: $email, password: $password) { session { token member { email } } errors { code } } }',
    JSON.stringify({ email, password }),
  );
  out.members = await run('query Members { members { totalCount nodes { email } } }', '{}');

  // A subscription runs over WebSocket with the page's session: a role another client
  // creates shows in the response pane.
  const token = out.signIn.data.login.session.token;
  await page.evaluate(`${query}.setValue(${JSON.stringify('subscription Live { memberChanged { action role { name } actor { email } } }')})`);
  await page.waitForTimeout(1000);
  await page.locator('.graphiql-execute-button').click();
  const response = `document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()`;
  for (let i = 0; i < 20 && !/ROLE_CREATED/.test(await page.evaluate(response)); i++) {
    await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `mutation { createRole(input: { name: "Live ${i}", permissions: [] }) { errors { code } } }` }),
    });
    await page.waitForTimeout(500);
  }
  out.subscription = JSON.parse(await page.evaluate(response));
  out.violations = await page.evaluate('window.__violations');
  out.ok = true;
} catch (e) {
  out.ok = false;
  out.failure = String(e?.stack ?? e).slice(0, 1500);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out, null, 2));
