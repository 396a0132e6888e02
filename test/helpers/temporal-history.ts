import { createTemporalClient } from '../../shared/temporal-client.ts';
import { testEnvironment } from './test-app.ts';

/** Highest attempt number of any started activity in a workflow's history (what the Temporal UI shows). */
export async function maxActivityAttempt(workflowId: string): Promise<number> {
  const environment = testEnvironment();
  const { client, connection } = createTemporalClient(environment.TEMPORAL_ADDRESS!, 'default');
  try {
    const handle = client.workflow.getHandle(workflowId);
    // An activity's started event (with its attempt) is written when the activity ends, and a chat turn's
    // client gets its final event from inside the activity: wait for the run to end first.
    await handle.result().catch(() => undefined);
    const history = await handle.fetchHistory();
    return Math.max(0, ...(history.events ?? []).map((event) => event.activityTaskStartedEventAttributes?.attempt ?? 0));
  } finally {
    await connection.close();
  }
}

export async function workflowResult(workflowId: string): Promise<unknown> {
  const environment = testEnvironment();
  const { client, connection } = createTemporalClient(environment.TEMPORAL_ADDRESS!, 'default');
  try {
    return await client.workflow.getHandle(workflowId).result();
  } finally {
    await connection.close();
  }
}
