import type { AgentActivityDependencies } from '../dependencies.ts';
import { createAgentModelStep } from './model-step.ts';
import { createAgentPublishEvent } from './publish-event.ts';
import { createAgentToolCall } from './tool-call.ts';

/** An agent run's own activities (agent task queue); it also uses the chat turn's saveRequest and finishRun. */
export function createAgentActivities(deps: AgentActivityDependencies) {
  return {
    agentModelStep: createAgentModelStep(deps),
    agentToolCall: createAgentToolCall(deps),
    agentPublishEvent: createAgentPublishEvent(deps),
  };
}
