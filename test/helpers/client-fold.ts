import type { SseEvent } from './sse-client.ts';

/**
 * Folds agent events into `content` the way LibreChat's web client does (useStepHandler): a run step
 * registers its id → content index; text and think deltas append at the step's index; a tool step
 * creates its tool_call part; argument deltas concatenate `args`; a completed call replaces its part.
 * Tests compare this with the saved message, so server and client agree part by part.
 */
export function foldAsClient(events: SseEvent[], initial: { runSteps?: any[]; aggregatedContent?: any[] } = {}): any[] {
  const steps = new Map<string, { index: number; type: string }>();
  const content: any[] = structuredClone(initial.aggregatedContent ?? []);
  const register = (step: any) => {
    steps.set(step.id, { index: step.index, type: step.type });
    if (step.type === 'tool_calls') {
      for (const call of step.stepDetails.tool_calls) content[step.index] ??= { type: 'tool_call', tool_call: { id: call.id, name: call.name, args: '', type: 'tool_call' } };
    }
  };
  for (const step of initial.runSteps ?? []) steps.set(step.id, { index: step.index, type: step.type });
  for (const event of events) {
    const name = event.data?.event;
    const data = event.data?.data;
    if (name === 'on_run_step') register(data);
    else if (name === 'on_message_delta' || name === 'on_reasoning_delta') {
      const step = steps.get(data.id);
      if (!step) throw new Error(`delta for an unknown step ${data.id}`);
      for (const piece of data.delta.content) {
        const part = content[step.index];
        if (piece.type === 'text') content[step.index] = { type: 'text', text: (part?.type === 'text' ? part.text : '') + piece.text };
        else content[step.index] = { type: 'think', think: (part?.type === 'think' ? part.think : '') + piece.think };
      }
    } else if (name === 'on_run_step_delta') {
      const step = steps.get(data.id);
      if (!step) throw new Error(`tool delta for an unknown step ${data.id}`);
      for (const chunk of data.delta.tool_calls ?? []) content[step.index].tool_call.args += chunk.args ?? '';
    } else if (name === 'on_run_step_completed') {
      content[data.result.index] = { type: 'tool_call', tool_call: data.result.tool_call };
    }
  }
  return content;
}
