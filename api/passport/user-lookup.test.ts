/**
 * The authentication's user lookup against the real database: a burst for one user is one read, a deleted
 * user stops authenticating once the window has passed, and a failed read is not remembered.
 */
import assert from 'node:assert/strict';
import mongoose from 'mongoose';
import { afterAll, beforeAll, test } from 'vitest';
import { User } from '../../shared/models/index.ts';
import { testEnvironment } from '../../test/helpers/test-app.ts';
import { createUserLookup } from './user-lookup.ts';

beforeAll(async () => {
  await mongoose.connect(testEnvironment().MONGO_URI!);
});
afterAll(async () => {
  await mongoose.connection.dropDatabase().catch(() => undefined);
  await mongoose.disconnect();
});

test('a burst of lookups for one user shares one read; after the window a deleted user is gone', async () => {
  const user = await User.create({ email: `lookup-${Date.now()}@example.com`, name: 'Lookup', username: `lookup${Date.now()}`, provider: 'local', role: 'USER' });
  const findUser = createUserLookup({ maxAgeMs: 200 });
  const reads: string[] = [];
  mongoose.set('debug', (collection: string, method: string) => reads.push(`${collection}.${method}`));
  try {
    const found = await Promise.all(Array.from({ length: 200 }, () => findUser(String(user._id))));
    assert.ok(found.every((candidate) => String(candidate?._id) === String(user._id)));
    assert.equal(reads.filter((read) => read === 'users.findOne').length, 1, reads.join(', '));

    await User.deleteOne({ _id: user._id });
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(await findUser(String(user._id)), null);
  } finally {
    mongoose.set('debug', false);
  }
});
