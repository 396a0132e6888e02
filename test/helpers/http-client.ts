export interface HttpResult<Body = any> {
  status: number;
  body: Body;
  headers: Headers;
  setCookies: string[];
}

/** A thin fetch wrapper for tests: JSON in, JSON (or text) out, cookies visible. */
export function createHttpClient(baseUrl: string) {
  async function call<Body = any>(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; rawBody?: string; cookie?: string; headers?: Record<string, string> } = {},
  ): Promise<HttpResult<Body>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.cookie) headers.cookie = options.cookie;
    let body: string | undefined;
    if (options.rawBody !== undefined) {
      body = options.rawBody;
      headers['content-type'] ??= 'application/json';
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    if (response.headers.get('content-type')?.includes('application/json')) parsed = JSON.parse(text);
    return { status: response.status, body: parsed as Body, headers: response.headers, setCookies: response.headers.getSetCookie() };
  }
  return {
    get: <Body = any>(path: string, options?: Parameters<typeof call>[2]) => call<Body>('GET', path, options),
    post: <Body = any>(path: string, options?: Parameters<typeof call>[2]) => call<Body>('POST', path, options),
    put: <Body = any>(path: string, options?: Parameters<typeof call>[2]) => call<Body>('PUT', path, options),
    delete: <Body = any>(path: string, options?: Parameters<typeof call>[2]) => call<Body>('DELETE', path, options),
    patch: <Body = any>(path: string, options?: Parameters<typeof call>[2]) => call<Body>('PATCH', path, options),
  };
}
export type HttpClient = ReturnType<typeof createHttpClient>;

/** `name=value` for a Cookie header, from Set-Cookie lines. */
export function cookieValue(setCookies: string[], name: string): string | undefined {
  const line = setCookies.find((cookie) => cookie.startsWith(`${name}=`));
  return line?.split(';')[0];
}

let userCounter = 0;

/** Registers a fresh user and logs in; returns the access token, the user and the refresh cookie. */
export async function registerAndLogin(http: HttpClient, prefix = 'user') {
  userCounter += 1;
  const email = `${prefix}-${userCounter}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const password = 'correct horse battery';
  const registered = await http.post('/api/auth/register', { body: { name: `${prefix} ${userCounter}`, email, password, confirm_password: password } });
  if (registered.status !== 200) throw new Error(`register failed: ${registered.status} ${JSON.stringify(registered.body)}`);
  const login = await http.post('/api/auth/login', { body: { email, password } });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  return { email, password, token: login.body.token as string, user: login.body.user, refreshCookie: cookieValue(login.setCookies, 'refreshToken')! };
}
