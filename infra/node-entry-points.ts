/** The project's own processes, as paths from the repository root: `npm start` runs each under supervision. */
export const nodeEntryPoints = {
  demoProvider: 'workers/demo-provider.ts',
  worker: 'workers/worker.ts',
  api: 'api/server.ts',
} as const;
