// The page's Content-Security-Policy is in force (in its <meta> and in the server's header, which
// binds the workers, and the two are the same), a request to another host or a script from a blob
// is refused by it, and
// model output with markup or a script renders as inert text. That the policy lets the page work
// is shown by every other browser test: they fail on any console error, and a refused script,
// wasm compile or model fetch is one.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadPage, openBrowser, startServer } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await openBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test('the page and its workers get one Content-Security-Policy', async () => {
  const { page } = browser;
  await loadPage(page, `${server.origin}/`);
  const meta = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
  assert.ok(meta, 'index.html has no CSP <meta>');
  for (const path of ['/', '/engine-worker.js', '/engine-helper.js', '/pkg/sotto_bg.wasm']) {
    const response = await fetch(`${server.origin}${path}`);
    assert.equal(response.headers.get('content-security-policy'), meta, `${path}'s CSP header`);
  }
  const directives = Object.fromEntries(meta.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
  assert.deepEqual(directives['script-src'], ["'self'", "'wasm-unsafe-eval'"]);
  assert.equal(directives['object-src'][0], "'none'");
  assert.ok(!meta.includes("'unsafe-inline'") && !meta.includes("'unsafe-eval'"), meta);
});

test('a request to a host outside the policy, or a script from a blob, is refused', async () => {
  const { page, problems } = browser;
  await loadPage(page, `${server.origin}/`);
  await page.waitForSelector('body[data-engine="ready"]', { timeout: 60_000 });
  const refused = await page.evaluate(async () => {
    const violations = [];
    document.addEventListener('securitypolicyviolation', (e) => violations.push(e.effectiveDirective));
    const fetched = await fetch('https://example.invalid/model.gguf').then(() => 'fetched', (e) => e.name);
    const blob = URL.createObjectURL(new Blob(['postMessage(1)'], { type: 'text/javascript' }));
    const worker = await new Promise((resolve) => {
      try {
        const w = new Worker(blob);
        w.onerror = (e) => { e.preventDefault(); resolve('refused'); };
        w.onmessage = () => resolve('ran');
      } catch (e) {
        resolve('refused');
      }
    });
    await new Promise((r) => setTimeout(r, 100));
    return { fetched, worker, violations };
  });
  assert.equal(refused.fetched, 'TypeError');
  assert.equal(refused.worker, 'refused');
  assert.ok(refused.violations.includes('connect-src'), `violations: ${refused.violations}`);
  assert.ok(refused.violations.includes('worker-src'), `violations: ${refused.violations}`);
  // The refusals were logged; nothing else was.
  const others = problems.consoleErrors.filter((text) => !/example\.invalid|blob:|Content Security Policy/.test(text));
  assert.deepEqual(others, []);
  problems.consoleErrors.length = 0;
});

test('model output with markup or a script is shown as text, never run', async () => {
  const { page } = browser;
  await loadPage(page, `${server.origin}/`);
  const result = await page.evaluate(async () => {
    const { ConversationView } = await import('./conversation-view.js');
    const list = document.createElement('ol');
    document.body.append(list);
    const view = new ConversationView(list);
    const attack = ['<img src=x onerror="window.__pwned = 1">', '<script>window.__pwned = 2</script>', '<b>bold</b>', '<a href="javascript:window.__pwned=3">link</a>'];
    view.add('user', attack[0], 7);
    for (const piece of attack) view.token(7, piece);
    view.finish(7, false);
    await new Promise((r) => setTimeout(r, 300));
    return {
      pwned: window.__pwned ?? null,
      elements: list.querySelectorAll('img, script, b, a').length,
      reply: list.querySelector('li.assistant')?.textContent,
    };
  });
  assert.equal(result.pwned, null);
  assert.equal(result.elements, 0);
  assert.equal(result.reply, '<img src=x onerror="window.__pwned = 1"><script>window.__pwned = 2</script><b>bold</b><a href="javascript:window.__pwned=3">link</a>');
});
