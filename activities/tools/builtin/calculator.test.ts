import assert from 'node:assert/strict';
import { test } from 'vitest';
import { BUILTIN_TOOLS } from '../../../shared/builtin-tools.ts';
import type { ToolCallContext } from '../tool-types.ts';
import { calculate, MAX_EXPRESSION_LENGTH, MAX_NESTING_DEPTH } from './calculator.ts';
import { createBuiltinTools } from './index.ts';

async function answer(input: string): Promise<string> {
  const result = await calculate({ input });
  assert.equal(result.isError, false, `${input} → ${result.output}`);
  return result.output;
}

async function failure(input: unknown): Promise<string> {
  const result = await calculate({ input });
  assert.equal(result.isError, true, `${String(input)} should fail but gave ${result.output}`);
  return result.output;
}

test('operators follow the usual precedence and associativity', async () => {
  const cases: Array<[string, string]> = [
    ['1 + 2 * 3', '7'],
    ['(1 + 2) * 3', '9'],
    ['10 - 4 - 3', '3'],
    ['100 / 10 / 5', '2'],
    ['2 * 3 % 4', '2'],
    ['7 % 3', '1'],
    ['-7 % 3', '-1'],
    ['1 + 2 ^ 3 * 2', '17'],
    ['2 ^ 3 ^ 2', '512'], // right-associative: 2^(3^2), not (2^3)^2 = 64
    ['2 ** 10', '1024'],
    ['(2 ^ 3) ^ 2', '64'],
    ['  3.5e2 + .5 ', '350.5'],
    ['1.5E-3 * 2', '0.003'],
    ['0.1 + 0.2', '0.3'],
    ['1 / 3', '0.333333333333333'],
    ['1e21', '1e+21'],
  ];
  for (const [input, expected] of cases) assert.equal(await answer(input), expected, input);
});

test('unary signs bind looser than power and can repeat', async () => {
  assert.equal(await answer('-2 ^ 2'), '-4');
  assert.equal(await answer('(-2) ^ 2'), '4');
  assert.equal(await answer('2 ^ -1'), '0.5');
  assert.equal(await answer('1 - -1'), '2');
  assert.equal(await answer('--3'), '3');
  assert.equal(await answer('+-+3'), '-3');
  assert.equal(await answer('-(4 - 6) * 2'), '4');
  assert.equal(await answer('-0'), '0');
});

test('functions and constants', async () => {
  const cases: Array<[string, string]> = [
    ['sqrt(16)', '4'],
    ['abs(-4.5)', '4.5'],
    ['round(2.5)', '3'],
    ['round(-2.5)', '-3'],
    ['round(1.005, 2)', '1.01'],
    ['floor(-1.5)', '-2'],
    ['ceil(1.2)', '2'],
    ['ln(e)', '1'],
    ['log(1000)', '3'],
    ['log2(1024)', '10'],
    ['exp(0)', '1'],
    ['sin(pi / 2)', '1'],
    ['cos(pi)', '-1'],
    ['tan(0)', '0'],
    ['asin(1) * 2', String(Number(Math.PI.toPrecision(15)))],
    ['acos(1)', '0'],
    ['atan(1) * 4', '3.14159265358979'],
    ['min(3, 1, 2)', '1'],
    ['max(3, -1, 7, 2)', '7'],
    ['max(4)', '4'],
    ['PI', '3.14159265358979'],
    ['Sqrt(max(9, 2 ^ 4))', '4'],
    ['sqrt(sqrt(sqrt(256)))', '2'],
  ];
  for (const [input, expected] of cases) assert.equal(await answer(input), expected, input);
});

test('impossible arithmetic is an error result with a clear message', async () => {
  assert.equal(await failure('1 / 0'), 'Error: division by zero');
  assert.equal(await failure('5 % (2 - 2)'), 'Error: division by zero');
  assert.match(await failure('sqrt(-1)'), /not a real number/);
  assert.match(await failure('ln(0)'), /not a finite number/);
  assert.match(await failure('10 ^ 400'), /too large/);
  assert.match(await failure('exp(1000)'), /too large/);
  assert.match(await failure('1e999'), /too large/);
  assert.match(await failure('1e308 * 10 - 1e308 * 10'), /too large/, 'overflow is caught where it happens, not masked later');
  assert.match(await failure('(-8) ^ (1 / 3)'), /not a real number/);
  assert.match(await failure('asin(2)'), /not a real number/);
});

test('malformed expressions say what is wrong', async () => {
  assert.match(await failure(''), /empty/);
  assert.match(await failure('1 +'), /found end of expression/);
  assert.match(await failure('(1 + 2'), /expected '\)'/);
  assert.match(await failure('1 + 2)'), /unexpected '\)' at position 6/);
  assert.match(await failure('1.2.3'), /unexpected number/);
  assert.match(await failure('2 3'), /unexpected number/);
  assert.match(await failure('2e'), /unexpected 'e'/);
  assert.match(await failure('sqrt 4'), /expected '\('/);
  assert.match(await failure('sqrt(1, 2)'), /sqrt takes 1 argument, got 2/);
  assert.match(await failure('round(1, 2, 3)'), /round takes 1 to 2 arguments/);
  assert.match(await failure('max()'), /found '\)'/);
  assert.match(await failure('round(2.5, 1.5)'), /whole number/);
  assert.match(await failure('1 # 2'), /unexpected character "#" at position 3/);
});

test('code, identifiers and property names are rejected, never run', async () => {
  for (const input of ['process.exit()', 'process.exit(1)', 'require("fs")', 'constructor', '__proto__', 'toString(1)', 'globalThis', 'x + 1', 'Math.sqrt(4)', 'eval("1")', '[].constructor', '1; 2', '`1`']) {
    const output = await failure(input);
    assert.match(output, /^Error: /, input);
  }
  assert.match(await failure('process.exit()'), /unknown name 'process' at position 1/);
  assert.match(await failure('x + 1'), /unknown name 'x'/);
});

test('the input must be a string', async () => {
  for (const input of [undefined, 42, null, { input: '1' }, ['1']]) assert.match(await failure(input), /"input" string/);
  const result = await calculate({});
  assert.equal(result.isError, true);
});

test('length and nesting are bounded', async () => {
  const atLimit = '1+'.repeat(MAX_EXPRESSION_LENGTH / 2 - 1) + '10';
  assert.equal(atLimit.length, MAX_EXPRESSION_LENGTH);
  assert.equal(await answer(atLimit), String(MAX_EXPRESSION_LENGTH / 2 - 1 + 10));
  assert.match(await failure(atLimit + '0'), /longer than 1000 characters/);
  assert.match(await failure('9'.repeat(100_000)), /longer than 1000 characters/);

  const nested = (depth: number) => '('.repeat(depth) + '1' + ')'.repeat(depth);
  assert.equal(await answer(nested(MAX_NESTING_DEPTH)), '1');
  assert.match(await failure(nested(MAX_NESTING_DEPTH + 1)), /nested more than 100 levels/);
  assert.match(await failure('-'.repeat(MAX_NESTING_DEPTH + 1) + '1'), /nested more than 100 levels/);
  assert.match(await failure('2^'.repeat(MAX_NESTING_DEPTH + 1) + '1'), /nested more than 100 levels/);
  assert.match(await failure('sqrt('.repeat(MAX_NESTING_DEPTH + 1) + '1' + ')'.repeat(MAX_NESTING_DEPTH + 1)), /nested more than 100 levels/);
});

test('any string gets a ToolResult, never an exception', async () => {
  // Seeded so a failure reproduces; the alphabet leans on the characters the parser cares about.
  let seed = 20261126;
  const random = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let mixed = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
  const pieces = ['(', ')', '+', '-', '*', '/', '%', '^', '**', ',', '.', 'e', 'E', ' ', '0', '1', '9', '.5', '1e308', 'sqrt', 'max', 'min', 'round', 'pi', 'x', '"', '\u0000', '\u{1F600}', '\n'];
  let successes = 0;
  for (let round = 0; round < 3000; round += 1) {
    const length = Math.floor(random() * 40);
    let input = '';
    for (let index = 0; index < length; index += 1) {
      input += random() < 0.9 ? pieces[Math.floor(random() * pieces.length)] : String.fromCharCode(Math.floor(random() * 0xffff));
    }
    const result = await calculate({ input });
    assert.equal(typeof result.output, 'string', input);
    assert.equal(typeof result.isError, 'boolean', input);
    if (result.isError) {
      assert.match(result.output, /^Error: /, input);
    } else {
      successes += 1;
      assert.ok(Number.isFinite(Number(result.output)), `${JSON.stringify(input)} → ${result.output}`);
    }
  }
  assert.ok(successes > 0, 'the fuzz loop reaches the evaluator, not only the tokenizer');
});

test('the registry serves the calculator under its LibreChat key with the manifest definition', async () => {
  const tools = createBuiltinTools();
  assert.deepEqual([...tools.keys()], BUILTIN_TOOLS.map((entry) => entry.pluginKey));
  const calculator = tools.get('calculator')!;
  const manifest = BUILTIN_TOOLS.find((entry) => entry.pluginKey === 'calculator')!;
  assert.deepEqual(calculator.definition, { name: 'calculator', description: manifest.description, parameters: manifest.parameters });
  const context: ToolCallContext = { userId: 'user-1', idempotencyKey: 'chat-1:call-1', signal: new AbortController().signal };
  assert.deepEqual(await calculator.call({ input: '6 * 7' }, context), { output: '42', isError: false });
});
