// Headless Chromium driven through the DevTools protocol over a pipe (--remote-debugging-pipe: JSON
// messages ending in a NUL byte on file descriptors 3 and 4), and a static file server for the page under
// test. Node's standard library alone: no npm packages.
import {spawn} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs';
import {createServer} from 'node:http';
import {tmpdir} from 'node:os';
import {extname, join, normalize, sep} from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.csv': 'text/csv', '.md': 'text/markdown',
};

// Ends the test after `seconds` with a message, should the browser or the page hang.
export function deadline(seconds, what) {
  setTimeout(() => {
    console.error(`FAIL ${what}: not done after ${seconds} s`);
    process.exit(1);
  }, seconds * 1000).unref();
}

// Serves `root` on 127.0.0.1 (a free port). Resolves to {url, close, requests}; requests lists "STATUS path".
export function serve(root) {
  const requests = [];
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url, 'http://x').pathname));
    const file = join(root, path.endsWith('/') ? join(path, 'index.html') : path);
    let body = null;
    if ((file + sep).startsWith(root + sep) || file.startsWith(root + sep)) {
      try {
        if (statSync(file).isFile()) body = readFileSync(file);
      } catch {
        body = null;
      }
    }
    requests.push(`${body ? 200 : 404} ${path}`);
    if (!body) {
      response.writeHead(404, {'content-type': 'text/plain'}).end('not found');
      return;
    }
    response.writeHead(200, {'content-type': TYPES[extname(file)] ?? 'application/octet-stream'}).end(body);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({url: `http://127.0.0.1:${server.address().port}/`, requests,
        // The browser may still hold keep-alive connections: closed too, or close() would wait for them.
        close: () => new Promise((done) => {
          server.close(done);
          server.closeAllConnections();
        })});
    });
  });
}

// Chromium's command: $CHROMIUM, else Debian's `chromium`.
export function chromiumCommand() {
  return process.env.CHROMIUM || 'chromium';
}

// Starts headless Chromium. Resolves to a browser: send(method, params, sessionId), on(method, handler),
// close().
export async function launch({width = 1000, height = 800} = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'bend-chromium-'));
  const args = ['--headless=new', '--remote-debugging-pipe', `--user-data-dir=${profile}`, '--no-first-run',
    '--no-default-browser-check', '--disable-gpu', '--disable-extensions', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-sandbox', '--hide-scrollbars', '--mute-audio',
    // WebAssembly compiled by the baseline compiler only: onnxruntime's 11 MB module is ready in a second
    // instead of waiting for the optimising tier (a test runs one small model).
    '--js-flags=--liftoff --no-wasm-tier-up', `--window-size=${width},${height}`, 'about:blank'];
  const child = spawn(chromiumCommand(), args, {stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe']});
  let stderr = '';
  child.stderr.on('data', (chunk) => stderr = (stderr + chunk).slice(-4000));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const started = new Promise((resolve, reject) => {
    child.on('error', (error) => reject(new Error(`cannot start ${chromiumCommand()}: ${error.message}`)));
    child.on('spawn', resolve);
  });
  await started;
  const [toBrowser, fromBrowser] = [child.stdio[3], child.stdio[4]];
  let nextId = 1, buffer = Buffer.alloc(0);
  const pending = new Map(), handlers = new Map();
  fromBrowser.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (let end = buffer.indexOf(0); end >= 0; end = buffer.indexOf(0)) {
      const message = JSON.parse(buffer.subarray(0, end).toString('utf8'));
      buffer = buffer.subarray(end + 1);
      if (message.id !== undefined) {
        const {resolve, reject, method} = pending.get(message.id);
        pending.delete(message.id);
        if (message.error) reject(new Error(`${method}: ${message.error.message}`));
        else resolve(message.result);
      } else {
        for (const handler of handlers.get(message.method) ?? []) handler(message.params, message.sessionId);
      }
    }
  });
  exited.then((code) => {
    for (const {reject, method} of pending.values())
      reject(new Error(`Chromium exited (${code}) during ${method}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    pending.clear();
  });
  const browser = {
    send(method, params = {}, sessionId = undefined) {
      const id = nextId++;
      toBrowser.write(JSON.stringify({id, method, params, ...(sessionId ? {sessionId} : {})}) + '\0');
      return new Promise((resolve, reject) => pending.set(id, {resolve, reject, method}));
    },
    on(method, handler) {
      if (!handlers.has(method)) handlers.set(method, []);
      handlers.get(method).push(handler);
    },
    async close() {
      try {
        await Promise.race([browser.send('Browser.close'), new Promise((r) => setTimeout(r, 2000))]);
      } catch {
        // already gone
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
      rmSync(profile, {recursive: true, force: true});
    },
  };
  return browser;
}

// Opens `url` in a new tab and waits for its load event. Returns a page: evaluate(expression) (awaits
// promises, returns the value), screenshot() (PNG bytes), mouse(type, x, y), touch(type, x, y), errors (every console error,
// uncaught exception and failed load, as text), messages (every console line), close().
export async function open(browser, url, {width = 1000, height = 800} = {}) {
  const {targetId} = await browser.send('Target.createTarget', {url: 'about:blank'});
  const {sessionId} = await browser.send('Target.attachToTarget', {targetId, flatten: true});
  const send = (method, params) => browser.send(method, params, sessionId);
  const errors = [], messages = [];
  const text = (args) => args.map((a) => a.value ?? a.description ?? a.type).join(' ');
  browser.on('Runtime.consoleAPICalled', (p, s) => {
    if (s !== sessionId) return;
    messages.push(`${p.type}: ${text(p.args)}`);
    if (p.type === 'error' || p.type === 'assert') errors.push(`console.${p.type}: ${text(p.args)}`);
  });
  browser.on('Runtime.exceptionThrown', (p, s) => {
    if (s === sessionId) errors.push(`uncaught: ${p.exceptionDetails.exception?.description ?? p.exceptionDetails.text}`);
  });
  browser.on('Log.entryAdded', (p, s) => {
    if (s !== sessionId) return;
    messages.push(`${p.entry.level}: ${p.entry.text} ${p.entry.url ?? ''}`);
    if (p.entry.level === 'error') errors.push(`${p.entry.source}: ${p.entry.text} ${p.entry.url ?? ''}`);
  });
  await Promise.all([send('Runtime.enable'), send('Log.enable'), send('Page.enable')]);
  await send('Emulation.setDeviceMetricsOverride', {width, height, deviceScaleFactor: 1, mobile: false});
  const loaded = new Promise((resolve) => browser.on('Page.loadEventFired', (p, s) => s === sessionId && resolve()));
  const navigation = await send('Page.navigate', {url});
  if (navigation.errorText) throw new Error(`${url}: ${navigation.errorText}`);
  await loaded;
  return {
    errors, messages,
    async evaluate(expression) {
      const result = await send('Runtime.evaluate', {expression, awaitPromise: true, returnByValue: true});
      if (result.exceptionDetails)
        throw new Error(`${expression.slice(0, 80)}: ${result.exceptionDetails.exception?.description ?? result.exceptionDetails.text}`);
      return result.result.value;
    },
    async screenshot({fullPage = false} = {}) {
      const params = {format: 'png', captureBeyondViewport: fullPage};
      if (fullPage) {
        const metrics = await send('Page.getLayoutMetrics');
        const {width: w, height: h} = metrics.cssContentSize;
        params.clip = {x: 0, y: 0, width: Math.ceil(w), height: Math.ceil(h), scale: 1};
      }
      return Buffer.from((await send('Page.captureScreenshot', params)).data, 'base64');
    },
    mouse(type, x, y) {
      return send('Input.dispatchMouseEvent', {type, x, y, button: 'left', buttons: type === 'mouseReleased' ? 0 : 1,
        clickCount: 1, pointerType: 'mouse'});
    },
    touch(type, x, y) {
      return send('Input.dispatchTouchEvent', {type, touchPoints: type === 'touchEnd' ? [] : [{x, y}]});
    },
    close: () => browser.send('Target.closeTarget', {targetId}),
  };
}
