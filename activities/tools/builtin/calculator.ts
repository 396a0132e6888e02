import type { ToolResult } from '../tool-types.ts';

/**
 * A safe arithmetic evaluator for the `calculator` tool. The expression comes from a model (and so, through
 * prompt injection, possibly from anyone), so it is parsed by a small recursive-descent parser that only
 * knows numbers, operators, a fixed set of functions and two constants — never `eval` or `Function`.
 *
 * Grammar (lowest to highest precedence):
 *   expression := term (('+' | '-') term)*
 *   term       := unary (('*' | '/' | '%') unary)*
 *   unary      := ('+' | '-') unary | power
 *   power      := primary (('^' | '**') unary)?        right-associative; -2^2 = -4, 2^-1 = 0.5
 *   primary    := number | constant | function '(' expression (',' expression)* ')' | '(' expression ')'
 */
export const MAX_EXPRESSION_LENGTH = 1000;
/** Counts open parentheses, function calls, signs and exponents: what makes the parser recurse. */
export const MAX_NESTING_DEPTH = 100;
const SIGNIFICANT_DIGITS = 15;

/** A problem with the expression the model can fix; its message goes back to the model as is. */
export class CalculationError extends Error {
  override name = 'CalculationError';
}

const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E };

interface FunctionSpec {
  minArguments: number;
  maxArguments: number;
  apply: (values: number[]) => number;
}

const unary = (apply: (value: number) => number): FunctionSpec => ({
  minArguments: 1,
  maxArguments: 1,
  apply: (values) => apply(values[0]!),
});

const FUNCTIONS: Record<string, FunctionSpec> = {
  sqrt: unary(Math.sqrt),
  abs: unary(Math.abs),
  // round(x) or round(x, decimals), as in mathjs (LibreChat's calculator); rounds half away from zero.
  round: { minArguments: 1, maxArguments: 2, apply: ([value, decimals]) => roundTo(value!, decimals ?? 0) },
  floor: unary(Math.floor),
  ceil: unary(Math.ceil),
  ln: unary(Math.log),
  log: unary(Math.log10),
  log2: unary(Math.log2),
  exp: unary(Math.exp),
  sin: unary(Math.sin),
  cos: unary(Math.cos),
  tan: unary(Math.tan),
  asin: unary(Math.asin),
  acos: unary(Math.acos),
  atan: unary(Math.atan),
  min: { minArguments: 1, maxArguments: Infinity, apply: (values) => Math.min(...values) },
  max: { minArguments: 1, maxArguments: Infinity, apply: (values) => Math.max(...values) },
};

function roundTo(value: number, decimals: number): number {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > SIGNIFICANT_DIGITS) {
    throw new CalculationError(`round: the number of decimals must be a whole number from 0 to ${SIGNIFICANT_DIGITS}`);
  }
  const factor = 10 ** decimals;
  // toPrecision first so 1.005 * 100 = 100.49999999999999 rounds the way a person expects.
  const scaled = Number((Math.abs(value) * factor).toPrecision(SIGNIFICANT_DIGITS));
  return (Math.sign(value) * Math.round(scaled)) / factor;
}

type Operator = '+' | '-' | '*' | '/' | '%' | '^' | '(' | ')' | ',';
type Token =
  | { kind: 'number'; value: number; position: number }
  | { kind: 'name'; name: string; position: number }
  | { kind: 'operator'; operator: Operator; position: number }
  | { kind: 'end'; position: number };

const NUMBER_PATTERN = /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
const NAME_PATTERN = /[A-Za-z_][A-Za-z0-9_]*/y;
const WHITESPACE_PATTERN = /\s+/y;

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let position = 0;
  const matchAt = (pattern: RegExp): string | undefined => {
    pattern.lastIndex = position;
    return pattern.exec(expression)?.[0];
  };
  while (position < expression.length) {
    const whitespace = matchAt(WHITESPACE_PATTERN);
    if (whitespace) {
      position += whitespace.length;
      continue;
    }
    const number = matchAt(NUMBER_PATTERN);
    if (number) {
      tokens.push({ kind: 'number', value: checkFinite(Number(number), `the number ${number}`), position });
      position += number.length;
      continue;
    }
    const name = matchAt(NAME_PATTERN);
    if (name) {
      // Checked here rather than when parsed, so `process.exit()` is answered with the unknown name, not the dot.
      const known = name.toLowerCase();
      if (!Object.hasOwn(FUNCTIONS, known) && !Object.hasOwn(CONSTANTS, known)) {
        throw new CalculationError(
          `unknown name '${name}' at position ${position + 1}: only the constants pi and e and the functions ${Object.keys(FUNCTIONS).join(', ')} are allowed`,
        );
      }
      tokens.push({ kind: 'name', name: known, position });
      position += name.length;
      continue;
    }
    if (expression.startsWith('**', position)) {
      tokens.push({ kind: 'operator', operator: '^', position });
      position += 2;
      continue;
    }
    const character = expression[position]!;
    if ('+-*/%^(),'.includes(character)) {
      tokens.push({ kind: 'operator', operator: character as Operator, position });
      position += 1;
      continue;
    }
    throw new CalculationError(`unexpected character ${JSON.stringify(character)} at position ${position + 1}`);
  }
  tokens.push({ kind: 'end', position });
  return tokens;
}

function checkFinite(value: number, what: string): number {
  if (Number.isNaN(value)) throw new CalculationError(`${what} is not a real number`);
  if (!Number.isFinite(value)) throw new CalculationError(`${what} is too large (not a finite number)`);
  return value;
}

function describeToken(token: Token): string {
  switch (token.kind) {
    case 'number':
      return `number at position ${token.position + 1}`;
    case 'name':
      return `'${token.name}' at position ${token.position + 1}`;
    case 'operator':
      return `'${token.operator}' at position ${token.position + 1}`;
    case 'end':
      return 'end of expression';
  }
}

class Parser {
  private index = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): number {
    const value = this.expression();
    const next = this.peek();
    if (next.kind !== 'end') throw new CalculationError(`unexpected ${describeToken(next)}`);
    return value;
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private takeOperator(...operators: Operator[]): Operator | undefined {
    const token = this.peek();
    if (token.kind === 'operator' && operators.includes(token.operator)) {
      this.index += 1;
      return token.operator;
    }
    return undefined;
  }

  private expect(operator: ')' | '('): void {
    if (!this.takeOperator(operator)) throw new CalculationError(`expected '${operator}' but found ${describeToken(this.peek())}`);
  }

  private nested<T>(parse: () => T): T {
    this.depth += 1;
    if (this.depth > MAX_NESTING_DEPTH) throw new CalculationError(`the expression is nested more than ${MAX_NESTING_DEPTH} levels deep`);
    try {
      return parse();
    } finally {
      this.depth -= 1;
    }
  }

  private expression(): number {
    let value = this.term();
    for (let operator = this.takeOperator('+', '-'); operator; operator = this.takeOperator('+', '-')) {
      const right = this.term();
      value = checkFinite(operator === '+' ? value + right : value - right, 'the result');
    }
    return value;
  }

  private term(): number {
    let value = this.unary();
    for (let operator = this.takeOperator('*', '/', '%'); operator; operator = this.takeOperator('*', '/', '%')) {
      const right = this.unary();
      if (operator === '*') {
        value = checkFinite(value * right, 'the result');
      } else {
        if (right === 0) throw new CalculationError('division by zero');
        value = checkFinite(operator === '/' ? value / right : value % right, 'the result');
      }
    }
    return value;
  }

  private unary(): number {
    const sign = this.takeOperator('+', '-');
    if (!sign) return this.power();
    return this.nested(() => {
      const value = this.unary();
      return sign === '-' ? -value : value;
    });
  }

  private power(): number {
    const base = this.primary();
    if (!this.takeOperator('^')) return base;
    const exponent = this.nested(() => this.unary());
    return checkFinite(base ** exponent, `${base}^${exponent}`);
  }

  private primary(): number {
    const token = this.peek();
    if (token.kind === 'number') {
      this.index += 1;
      return token.value;
    }
    if (token.kind === 'operator' && token.operator === '(') {
      this.index += 1;
      const value = this.nested(() => this.expression());
      this.expect(')');
      return value;
    }
    if (token.kind === 'name') {
      this.index += 1;
      return this.named(token.name);
    }
    throw new CalculationError(`expected a number, '(' or a function but found ${describeToken(token)}`);
  }

  private named(name: string): number {
    // The tokenizer let through only known names.
    const spec = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
    if (!spec) return CONSTANTS[name]!;
    this.expect('(');
    const values = this.nested(() => {
      const parsed = [this.expression()];
      while (this.takeOperator(',')) parsed.push(this.expression());
      return parsed;
    });
    this.expect(')');
    if (values.length < spec.minArguments || values.length > spec.maxArguments) {
      const expected = spec.minArguments === spec.maxArguments ? `${spec.minArguments}` : spec.maxArguments === Infinity ? `at least ${spec.minArguments}` : `${spec.minArguments} to ${spec.maxArguments}`;
      throw new CalculationError(`${name} takes ${expected} argument${expected === '1' ? '' : 's'}, got ${values.length}`);
    }
    return checkFinite(spec.apply(values), `${name}(${values.join(', ')})`);
  }
}

/** Evaluates `expression`; throws CalculationError for anything it cannot answer with a finite number. */
export function evaluateExpression(expression: string): number {
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    throw new CalculationError(`the expression is longer than ${MAX_EXPRESSION_LENGTH} characters`);
  }
  if (expression.trim() === '') throw new CalculationError('the expression is empty');
  return new Parser(tokenize(expression)).parse();
}

/** 15 significant digits hide binary noise (0.1 + 0.2 → 0.3); String() then drops trailing zeros. */
export function formatNumber(value: number): string {
  const rounded = Number(value.toPrecision(SIGNIFICANT_DIGITS));
  return String(Object.is(rounded, -0) ? 0 : rounded);
}

/** The tool's call: never throws, so any input — however hostile — becomes a ToolResult the model can read. */
export async function calculate(args: Record<string, unknown>): Promise<ToolResult> {
  const input = args?.input;
  if (typeof input !== 'string') {
    return { output: 'Error: the calculator needs an "input" string holding the expression, e.g. {"input": "2 + 2"}', isError: true };
  }
  try {
    return { output: formatNumber(evaluateExpression(input)), isError: false };
  } catch (error) {
    const message = error instanceof CalculationError ? error.message : 'the expression could not be evaluated';
    return { output: `Error: ${message}`, isError: true };
  }
}
