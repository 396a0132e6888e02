import { defineSignal } from '@temporalio/workflow';

/**
 * A running tool's progress, signalled by its activity (throttled there) to the agent run, which shows it
 * to the client. Its own file: the activity imports it without loading the workflow.
 */
export interface ToolProgressUpdate {
  callId: string;
  progress: number;
  total?: number;
  message?: string;
}

export const toolProgressSignal = defineSignal<[ToolProgressUpdate]>('toolProgress');
