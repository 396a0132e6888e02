import mongoose from 'mongoose';

/**
 * Connects the process-wide mongoose connection and builds the indexes the queries rely on.
 * `autoIndex` is off so index builds happen once here, not lazily on first use.
 */
export async function connectDatabase(uri: string): Promise<typeof mongoose> {
  mongoose.set('strictQuery', true);
  // Not `sanitizeFilter`: it would also neuter the server's own operators. User input cannot carry
  // operators anyway: api/plugins/security.ts refuses `$`/dotted keys and zod admits only scalars.
  await mongoose.connect(uri, { autoIndex: false, serverSelectionTimeoutMS: 10_000 });
  await Promise.all(Object.values(mongoose.models).map((model) => model.createIndexes()));
  return mongoose;
}

export async function disconnectDatabase(): Promise<void> {
  await mongoose.disconnect();
}
