import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { FirstAdminClaim } from '../shared/models/first-admin-claim.ts';
import { User } from '../shared/models/index.ts';
import { createHttpClient, type HttpClient } from './helpers/http-client.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

// Its own file, so its process starts on an empty database: no user has registered before the race.
let app: TestApp;
let http: HttpClient;

beforeAll(async () => {
  app = await startTestApp();
  http = createHttpClient(app.baseUrl);
});
afterAll(async () => {
  await app.close();
  await cleanUpTestData(app.config);
});

test('racing first registrations on an empty database make exactly one ADMIN', async () => {
  for (let round = 1; round <= 3; round += 1) {
    if (round > 1) await Promise.all([User.deleteMany({}), FirstAdminClaim.deleteMany({})]);
    const emails = Array.from({ length: 6 }, (_, index) => `race-${round}-${index}@example.com`);
    const answers = await Promise.all(
      emails.map((email) => http.post('/api/auth/register', { body: { name: email, email, password: 'long enough 1', confirm_password: 'long enough 1' } })),
    );
    assert.deepEqual(answers.map((answer) => answer.status), emails.map(() => 200));
    const roles = await Promise.all(
      emails.map(async (email) => (await http.post('/api/auth/login', { body: { email, password: 'long enough 1' } })).body.user.role as string),
    );
    assert.equal(roles.filter((role) => role === 'ADMIN').length, 1, `round ${round}: ${roles.join(', ')}`);
    assert.equal(roles.filter((role) => role === 'USER').length, emails.length - 1);
  }
});
