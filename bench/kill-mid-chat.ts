/**
 * A server killed under a running `npm start`, mid-reply: one chat of 200 tokens at 20 per second; after 20
 * deltas every process matching `--kill` (a `pgrep -f` pattern) is SIGKILLed; a stream that drops is resumed
 * from its last event id, as LibreChat's client does; then whether the stream ended with its final event, how many words it carried, and whether the saved reply is finished and equal to it.
 * bench/README.md, "Servers killed under `npm start`".
 *
 *   node --import tsx bench/kill-mid-chat.ts --kill '[t]emporal server start-dev'
 *   node --import tsx bench/kill-mid-chat.ts --kill '[f]erretdb --handler'
 *   node --import tsx bench/kill-mid-chat.ts --kill '[r]edis-server 127.0.0.1:6379'
 *   node --import tsx bench/kill-mid-chat.ts --kill '[/]usr/lib/postgresql/15/bin/postgres -D'
 *   node --import tsx bench/kill-mid-chat.ts --kill '[w]orkers/worker.mjs'     # the worker (npm start's build)
 *   node --import tsx bench/kill-mid-chat.ts --kill '[a]pi/server.mjs'         # the API: the stream is resumed
 *
 * The brackets keep the pattern from matching this script's own command line. It signs in as `--email`
 * (registering it the first time; `--password`), so repeated runs stay within the API's registration limit.
 */
import { execFileSync } from 'node:child_process';
import { argument } from './bench-stack.ts';
import { readSse, type SseEvent } from '../test/helpers/sse-client.ts';

const baseUrl = argument('base-url', 'http://127.0.0.1:3080');
const pattern = argument('kill', '');
const email = argument('email', 'kill-probe@example.com');
const password = argument('password', 'kill-probe-password');
if (!pattern) throw new Error('--kill <pgrep -f pattern> is required');

const json = { 'content-type': 'application/json' };
async function signIn(): Promise<string> {
  const login = () => fetch(`${baseUrl}/api/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ email, password }) });
  let response = await login();
  if (response.status !== 200) {
    await fetch(`${baseUrl}/api/auth/register`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'kill probe', email, password, confirm_password: password }) });
    response = await login();
  }
  if (response.status !== 200) throw new Error(`could not sign in as ${email}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

const token = await signIn();
const startedAt = Date.now();
let text = '';
let deltas = 0;
let killed: string[] | undefined;
let final: Record<string, any> | undefined;
let conversationId: string | undefined;
let streamId: string | undefined;
let lastEventId: string | undefined;
let resumes = 0;
const onEvent = ({ id, data }: SseEvent) => {
  if (id) lastEventId = id;
  if (data?.created) {
    conversationId = data.message?.conversationId;
    streamId = data.streamId;
  }
  if (data?.event === 'on_message_delta') {
    deltas += 1;
    for (const part of data.data.delta.content) text += part.text ?? '';
  }
  if (data?.final) final = data;
  if (!killed && deltas >= 20) {
    try {
      killed = execFileSync('pgrep', ['-f', pattern]).toString().trim().split('\n').filter(Boolean);
    } catch {
      console.error(`no process matches ${pattern} (pgrep -f)`);
      process.exit(2);
    }
    for (const pid of killed) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone already
      }
    }
    console.log(`${Date.now() - startedAt} ms: SIGKILLed ${pattern} (pid ${killed.join(', ')})`);
  }
  return false;
};
// As LibreChat's client does: a dropped stream (the API killed) is resumed from the last event it had.
let request: () => Promise<Response> = () =>
  fetch(`${baseUrl}/api/agents/chat/custom`, {
    method: 'POST',
    headers: { ...json, authorization: `Bearer ${token}` },
    body: JSON.stringify({ endpoint: 'demo', model: 'demo-fast', text: 'killed mid-reply [tokens=200 rate=20]', conversationId: null }),
  });
while (!final) {
  try {
    const response = await request();
    // An answer that is not a stream (404, 401, 5xx while the API comes back) is retried like a dropped one.
    if (!response.ok || !response.headers.get('content-type')?.includes('text/event-stream')) throw new Error(`${response.status} ${await response.text()}`);
    await readSse(response, onEvent);
  } catch (error) {
    if (!streamId) throw error;
    if (resumes === 60) throw new Error(`no final event after 60 resumes; last: ${(error as Error).message}`);
  }
  if (final) break;
  resumes += 1;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  request = () => fetch(`${baseUrl}/api/agents/chat/stream/${streamId}`, { headers: { authorization: `Bearer ${token}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) } });
}
const words = (value: string) => value.split(' ').filter(Boolean).length;
console.log(`${Date.now() - startedAt} ms: stream ended${resumes ? ` after ${resumes} resume(s)` : ''}; final event: ${final ? 'yes' : 'no'}${final?.error ? ` (error: ${JSON.stringify(final.error)})` : ''}; ${words(text)} words`);
conversationId ??= final?.conversation?.conversationId;
for (let attempt = 0; ; attempt += 1) {
  const messages = (await (await fetch(`${baseUrl}/api/messages/${conversationId}`, { headers: { authorization: `Bearer ${token}` } })).json().catch(() => undefined)) as Array<Record<string, any>> | undefined;
  const reply = Array.isArray(messages) ? messages.find((message) => !message.isCreatedByUser) : undefined;
  if (reply && !reply.unfinished) {
    console.log(`saved reply: ${words(reply.text ?? '')} words, ${reply.text === text ? 'equal to' : 'DIFFERENT from'} the streamed text`);
    if (reply.text !== text || final?.error) process.exitCode = 1;
    break;
  }
  if (attempt === 60) {
    console.log(`no finished saved reply after 60 s: ${JSON.stringify(reply)?.slice(0, 300)}`);
    process.exitCode = 1;
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
}
