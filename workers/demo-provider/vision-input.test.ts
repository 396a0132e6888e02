/**
 * Vision input on the fake provider servers: what each wire protocol accepts and refuses (in the real API's
 * status and words), and the one reply rule all four share ("describe the image" lists the last user
 * message's images). The provider modules' own tests (activities/providers/*.test.ts) drive the real SDKs.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { pngBytes } from '../../test/helpers/file-fixtures.ts';
import { gifBytes } from '../../test/helpers/vision-images.ts';
import { startFakeProvider, type FakeProvider } from './openai-compatible-server.ts';
import { planReply, remainingTokens } from './reply-script.ts';
import { decodeBase64, describeImages, sniffImageType } from './vision-input.ts';

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());

const png64 = Buffer.from(pngBytes).toString('base64');
const gif64 = Buffer.from(gifBytes).toString('base64');

async function chat(content: unknown, extra: object[] = []): Promise<{ status: number; body: any }> {
  const response = await fetch(`${fake.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer demo' },
    body: JSON.stringify({ model: 'demo-fast', messages: [...extra, { role: 'user', content }] }),
  });
  return { status: response.status, body: await response.json() };
}
const replyOf = (result: { body: any }) => result.body.choices[0].message.content as string;
const text = (words: string) => ({ type: 'text', text: words });
const imageUrl = (url: unknown) => ({ type: 'image_url', image_url: { url } });

test('base64 is decoded strictly and image types are told by their first bytes', () => {
  assert.equal(decodeBase64(png64)?.length, pngBytes.length);
  assert.equal(decodeBase64('this is not base64!'), undefined);
  assert.equal(decodeBase64('abc'), undefined, 'unpadded standard base64 is refused');
  assert.deepEqual(decodeBase64('-_8', { urlSafe: true }), Buffer.from([0xfb, 0xff]), 'protobuf JSON also takes URL-safe, unpadded base64');
  assert.equal(sniffImageType(Buffer.from(pngBytes)), 'image/png');
  assert.equal(sniffImageType(Buffer.from(gifBytes)), 'image/gif');
  assert.equal(sniffImageType(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10])), 'image/jpeg');
  assert.equal(sniffImageType(Buffer.from('RIFF\0\0\0\0WEBPVP8 ')), 'image/webp');
  assert.equal(sniffImageType(Buffer.from('plain text')), undefined);
  assert.equal(describeImages([{ mimeType: 'image/png', bytes: 68 }]), 'I see 1 image(s): image/png 68 bytes');
});

test('the reply rule: only the last user message counts; directives still apply; a continuation gets the rest', () => {
  const earlier = { role: 'user', content: 'look', images: [{ mimeType: 'image/gif', bytes: 43 }] };
  const last = { role: 'user', content: 'now DESCRIBE the image [fail=500 times=1 key=k]', images: [{ mimeType: 'image/png', bytes: 70 }] };
  const plan = planReply('demo-fast', [earlier, { role: 'assistant', content: 'ok' }, last]);
  assert.equal(plan.tokens.join(''), 'I see 1 image(s): image/png 70 bytes');
  assert.equal(plan.toolCalls, undefined);
  assert.deepEqual(plan.fail, { status: 500, times: 1, key: 'k', after: 0 });
  const conversation = [{ role: 'user', content: 'describe the image', images: [{ mimeType: 'image/png', bytes: 70 }] }];
  const whole = planReply('demo-fast', conversation).tokens.join('');
  const partial = whole.slice(0, 9);
  const continuation = [...conversation, { role: 'assistant', content: partial }, { role: 'user', content: 'Continue it from exactly where it stopped' }];
  assert.equal(partial + remainingTokens(planReply('demo-fast', continuation), continuation).join(''), whole);
});

test('OpenAI: data URLs are read, http(s) URLs taken as given; a mislabelled image passes as OpenAI reads the bytes', async () => {
  const reply = await chat([text('Describe the image'), imageUrl(`data:image/png;base64,${png64}`), { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'low' } }, imageUrl(`data:image/png;base64,${gif64}`)]);
  assert.equal(reply.status, 200);
  assert.equal(replyOf(reply), `I see 3 image(s): image/png ${pngBytes.length} bytes; url https://example.com/cat.jpg; image/png ${gifBytes.length} bytes`);
  assert.deepEqual(fake.lastMessages().at(-1), {
    role: 'user',
    content: 'Describe the image',
    images: [{ mimeType: 'image/png', bytes: pngBytes.length }, { url: 'https://example.com/cat.jpg' }, { mimeType: 'image/png', bytes: gifBytes.length }],
  });
  // Text parts are the message's text: a plain request gets the same reply as with a string.
  assert.equal(replyOf(await chat([text('hello [tokens=5]')])), replyOf(await chat('hello [tokens=5]')));
});

test('OpenAI: malformed image parts are refused with 400 invalid_request_error, naming the parameter', async () => {
  const refusals: Array<[unknown, object[], { message: RegExp; param: string | null; code: string | null }]> = [
    [[text('x'), imageUrl('ftp://example.com/a.png')], [], { message: /^Invalid 'messages\[0\]\.content\[1\]\.image_url\.url'\. Expected a valid URL, but got a value with an invalid format\.$/, param: 'messages[0].content[1].image_url.url', code: 'invalid_value' }],
    [[imageUrl('data:image/png;base64,not base64!')], [], { message: /^Invalid base64 image_url\.$/, param: 'messages[0].content[0].image_url.url', code: 'invalid_image_url' }],
    [[imageUrl(`data:image/bmp;base64,${png64}`)], [], { message: /but got unsupported MIME type 'image\/bmp'\.$/, param: 'messages[0].content[0].image_url.url', code: 'invalid_value' }],
    [[imageUrl(`data:image/png;base64,${Buffer.from('plain text').toString('base64')}`)], [], { message: /^You uploaded an unsupported image\./, param: null, code: 'invalid_image_format' }],
    [[{ type: 'image_url', image_url: `data:image/png;base64,${png64}` }], [], { message: /^Invalid type for 'messages\[0\]\.content\[0\]\.image_url': expected an object, but got a string instead\.$/, param: 'messages[0].content[0].image_url', code: 'invalid_type' }],
    [[{ type: 'image_url', image_url: { url: `data:image/png;base64,${png64}`, detail: 'ultra' } }], [], { message: /^Invalid value: 'ultra'\. Supported values are: 'auto', 'low', and 'high'\.$/, param: 'messages[0].content[0].image_url.detail', code: 'invalid_value' }],
    [[{ type: 'picture' }], [], { message: /^Invalid value: 'picture'\./, param: 'messages[0].content[0].type', code: 'invalid_value' }],
    ['hi', [{ role: 'system', content: [text('sys'), imageUrl(`data:image/png;base64,${png64}`)] }], { message: /^Image URLs are only allowed for messages with role 'user', but this message with role 'system' contains an image URL\.$/, param: 'messages', code: null }],
  ];
  for (const [content, extra, expected] of refusals) {
    const { status, body } = await chat(content, extra);
    assert.equal(status, 400, JSON.stringify(content));
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, expected.message);
    assert.equal(body.error.param, expected.param);
    assert.equal(body.error.code, expected.code);
  }
});

test('Anthropic: a url image source is taken as given; a block without a usable source is refused', async () => {
  const post = (content: unknown[]) =>
    fetch(`${fake.url}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'demo', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'demo-fast', max_tokens: 100, messages: [{ role: 'user', content }] }),
    });
  const accepted = await post([{ type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } }, text('describe the image')]);
  assert.equal(((await accepted.json()) as { content: Array<{ text?: string }> }).content[0]!.text, 'I see 1 image(s): url https://example.com/cat.png');
  const oversized = await post([{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: Buffer.concat([Buffer.from(pngBytes), Buffer.alloc(5 * 1024 * 1024)]).toString('base64') } }]);
  assert.equal(oversized.status, 400);
  assert.match(((await oversized.json()) as { error: { message: string } }).error.message, /^messages\.0\.content\.0\.image\.source\.base64: image exceeds 5 MB maximum: \d+ bytes > 5242880 bytes$/);
  const sourceless = await post([{ type: 'image' }, text('hi')]);
  assert.equal(sourceless.status, 400);
  assert.deepEqual(await sourceless.json(), { type: 'error', error: { type: 'invalid_request_error', message: 'messages.0.content.0.image.source: Field required' } });
});

test('Gemini: proto-style inline_data is read like inlineData; a mislabelled image passes; a part without a MIME type is refused', async () => {
  const post = (parts: unknown[]) =>
    fetch(`${fake.url.replace(/\/v1$/, '')}/v1beta/models/demo-fast:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': 'demo' },
      body: JSON.stringify({ contents: [{ role: 'user', parts }] }),
    });
  const accepted = await post([{ inline_data: { mime_type: 'image/gif', data: gif64 } }, { inlineData: { mimeType: 'image/png', data: gif64 } }, { text: 'describe the image' }]);
  const reply = (await accepted.json()) as { candidates: Array<{ content: { parts: Array<{ text: string }> } }> };
  assert.equal(reply.candidates[0]!.content.parts.map((part) => part.text).join(''), `I see 2 image(s): image/gif ${gifBytes.length} bytes; image/png ${gifBytes.length} bytes`);
  const untyped = await post([{ inlineData: { data: png64 } }, { text: 'hi' }]);
  assert.equal(untyped.status, 400);
  assert.equal(((await untyped.json()) as { error: { status: string } }).error.status, 'INVALID_ARGUMENT');
});
