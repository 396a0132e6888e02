/**
 * Generation protocol 2 end to end in a real browser: Debian's Chromium (driven by playwright-core) runs
 * test/browser/protocol2-page.html, which makes the newest LibreChat client's requests — start, stream, reload
 * mid-reply and resume from `/chat/status` + a `sync` frame, Stop — against the real API, worker and Temporal.
 * The page is served from the API's origin (a small pass-through server), as LibreChat's client is.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, test } from 'vitest';
import { startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { startSameOriginPageServer, type SameOriginPageServer } from './helpers/same-origin-page-server.ts';
import { cleanUpTestData } from './helpers/test-app.ts';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** What the page exposes (window.protocolPage) and the bits of the DOM the test reads. */
interface PageGlobals {
  protocolPage: { log: Array<{ kind: string; [key: string]: unknown }>; streamedText: string; finalText: string | null; abortAnswer: { status: number; body: any } | null };
  document: { body: { dataset: { state?: string } }; getElementById: (id: string) => { textContent: string | null } | null };
}

let stack: ChatStack | undefined;
let http: HttpClient;
let pageServer: SameOriginPageServer | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium is missing: ${chromiumPath} does not exist. This test drives Debian's chromium package; npm test installs it (infra/setup.sh with DURACHAT_SETUP_BROWSER=1), or run: apt-get install chromium`);
  }
  stack = await startChatStack();
  http = createHttpClient(stack.app.baseUrl);
  pageServer = await startSameOriginPageServer({ pagePath: path.join(import.meta.dirname, 'browser', 'protocol2-page.html'), apiBaseUrl: stack.app.baseUrl });
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'], timeout: 30_000 });
});

afterAll(async () => {
  await browser?.close();
  await pageServer?.close();
  if (stack) {
    await stack.close();
    await cleanUpTestData(stack.app.config);
  }
});

/** A fresh tab (its own sessionStorage) on the page, logged in as a fresh user. */
async function openChatPage(prefix: string) {
  const user = await registerAndLogin(http, prefix);
  const context = await browser!.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(`${pageServer!.url}/#token=${encodeURIComponent(user.token)}`, { waitUntil: 'load' });
  return { user, page, close: () => context.close() };
}

async function send(page: Page, text: string) {
  await page.fill('#prompt', text);
  await page.selectOption('#model', 'demo-fast');
  await page.click('#send');
}

const renderedWords = (page: Page, count: number) =>
  page.waitForFunction((words) => ((globalThis as unknown as PageGlobals).document.getElementById('reply')?.textContent ?? '').split(' ').filter(Boolean).length >= words, count, { timeout: 30_000 });

/** Waits for the page to end the generation one way or another, then says how (a wrong ending fails with its log). */
async function waitForEnd(page: Page) {
  await page.waitForFunction(() => ['done', 'aborted', 'settled', 'error'].includes((globalThis as unknown as PageGlobals).document.body.dataset.state ?? ''), undefined, { timeout: 60_000 });
  return page.evaluate(() => {
    const globals = globalThis as unknown as PageGlobals;
    return {
      state: globals.document.body.dataset.state,
      marker: globals.document.getElementById('done')?.textContent,
      reply: globals.document.getElementById('reply')?.textContent ?? '',
      ...globals.protocolPage,
    };
  });
}

async function savedMessages(token: string, conversationId: string) {
  const response = await http.get(`/api/messages/${conversationId}`, { token });
  assert.equal(response.status, 200);
  return response.body as Array<{ messageId: string; isCreatedByUser: boolean; text: string; unfinished?: boolean }>;
}

const conversationIdOf = (page: Page) => page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem: (key: string) => string | null } }).sessionStorage.getItem('durachat-protocol2-generation'));

test('reload mid-reply: the page resumes from status + sync and ends with the saved reply, nothing twice', async () => {
  const { user, page, close } = await openChatPage('browser-reload');
  try {
    await send(page, 'reload me mid-reply [tokens=120 rate=15]');
    await renderedWords(page, 10);
    const beforeReload = await page.evaluate(() => (globalThis as unknown as PageGlobals).protocolPage.streamedText);
    const { conversationId } = JSON.parse((await conversationIdOf(page))!) as { conversationId: string };

    await page.reload({ waitUntil: 'load', timeout: 30_000 });
    const ended = await waitForEnd(page);
    assert.equal(ended.state, 'done', `the page ended as ${ended.state}: ${JSON.stringify(ended.log)}`);
    assert.equal(ended.marker, 'done');

    // The reloaded page found the run active, showed its snapshot, and followed it with resume=true.
    const kinds = ended.log.map((entry) => entry.kind);
    assert.deepEqual(ended.log.find((entry) => entry.kind === 'status-on-load'), { kind: 'status-on-load', active: true });
    const fromStatus = ended.log.find((entry) => entry.kind === 'resumed-from-status')!;
    assert.ok((fromStatus.length as number) >= beforeReload.length, 'the status snapshot holds at least what was shown before the reload');
    assert.deepEqual(ended.log.find((entry) => entry.kind === 'subscribe'), { kind: 'subscribe', resume: true, attempt: 0 });
    assert.ok(kinds.includes('sync'), `a sync frame came first: ${kinds.join(', ')}`);
    const syncLength = ended.log.find((entry) => entry.kind === 'sync')!.length as number;
    assert.ok(syncLength < ended.finalText!.length, 'text kept streaming after the sync frame');

    // Snapshot + later deltas is exactly the final reply: no duplicated prefix, nothing lost across the reload.
    assert.ok(ended.finalText!.startsWith(beforeReload), 'the reply continues what was shown before the reload');
    assert.equal(ended.streamedText, ended.finalText);
    assert.equal(ended.reply, ended.finalText);
    assert.equal(ended.finalText!.split(' ').length, 120);

    const messages = await savedMessages(user.token, conversationId);
    assert.equal(messages.length, 2, 'one user message and one reply (no duplicate sibling)');
    const reply = messages.find((message) => !message.isCreatedByUser)!;
    assert.equal(reply.text, ended.finalText);
    assert.ok(!reply.unfinished);
  } finally {
    await close();
  }
});

test('Stop: the page shows the aborted final, and the saved reply is the same unfinished text', async () => {
  const { user, page, close } = await openChatPage('browser-stop');
  try {
    await send(page, 'stop me [tokens=400 rate=15]');
    await renderedWords(page, 8);
    const { conversationId } = JSON.parse((await conversationIdOf(page))!) as { conversationId: string };
    await page.click('#stop');
    const ended = await waitForEnd(page);
    assert.equal(ended.state, 'aborted', `the page ended as ${ended.state}: ${JSON.stringify(ended.log)}`);
    assert.equal(ended.marker, 'aborted');
    assert.ok(ended.finalText!.length > 0);
    assert.ok(ended.finalText!.split(' ').length < 400, 'stopped before the end');
    assert.equal(ended.streamedText, ended.finalText, 'the aborted final carries exactly what was streamed');
    assert.equal(ended.reply, ended.finalText);

    // The abort answer may land after the final frame; wait for it (bounded) and check the v2 shape.
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).protocolPage.abortAnswer !== null, undefined, { timeout: 20_000 });
    const abortAnswer = await page.evaluate(() => (globalThis as unknown as PageGlobals).protocolPage.abortAnswer!);
    assert.equal(abortAnswer.status, 200);
    assert.equal(abortAnswer.body.success, true);
    assert.equal(abortAnswer.body.aborted, conversationId);
    assert.equal(abortAnswer.body.generationProtocolVersion, 2);

    const messages = await savedMessages(user.token, conversationId);
    assert.equal(messages.length, 2);
    const reply = messages.find((message) => !message.isCreatedByUser)!;
    assert.equal(reply.unfinished, true);
    assert.equal(reply.text, ended.finalText);
  } finally {
    await close();
  }
});
