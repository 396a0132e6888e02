import { Context } from '@temporalio/activity';
import { AGENT_RUN_MAX_DURATION_MS, modelStepId, toolCallId, toolStepId, type AgentRunInput, type TranscriptEntry } from '../../shared/agent-run.ts';
import { runKeyLifetimeSeconds } from '../../shared/chat-run.ts';
import { foldReply } from '../../shared/run-content.ts';
import type { RunEvent } from '../../shared/run-events.ts';
import { buildPrompt, outputBudget } from '../chat/build-prompt.ts';
import { createCoalescingWriter, type DeltaKind } from '../chat/coalescing-writer.ts';
import { relayProviderStream } from '../chat/relay-provider-stream.ts';
import { openAttemptWriter, type RunWriter } from '../chat/run-writer.ts';
import type { AgentActivityDependencies } from '../dependencies.ts';
import { startActivityHeartbeat, STREAM_HEARTBEAT_INTERVAL_MS } from '../activity-heartbeat.ts';
import { withIdleTimeout } from '../providers/idle-timeout.ts';
import { runEndpoint } from '../providers/run-endpoint.ts';
import { FILE_SEARCH_TOOL, fileSearchDefinition } from '../tools/file-search-tool.ts';
import { continuationMessages, type PromptMessage } from '../providers/provider.ts';

/** A tool call the model made in a step, with where the client shows it. */
export interface ModelStepCall {
  id: string;
  name: string;
  arguments: string;
  signature?: string;
  /** The step event that announced it (the client attaches the output to it). */
  stepId: string;
  /** Its position in the reply's content. */
  contentIndex: number;
}

export interface ModelStepResult {
  finishReason: string;
  /** The step's text (it goes back to the model with its tool calls). */
  text: string;
  toolCalls: ModelStepCall[];
}

/** Which of a run's events belong to one model step (earlier attempts of it included). */
function belongsToStep(event: RunEvent, responseMessageId: string, stepNumber: number): boolean {
  const stepPrefix = `step_${responseMessageId}_${stepNumber}_`;
  const first = modelStepId(responseMessageId, 1, 0);
  const callPrefix = toolCallId(responseMessageId, stepNumber, 0).replace(/0$/, '');
  if (event.type === 'text' || event.type === 'reasoning') return event.stepId.startsWith(stepPrefix) || (stepNumber === 1 && event.stepId === first);
  if (event.type === 'step') return event.stepId.startsWith(stepPrefix) || (stepNumber === 1 && event.stepId === first) || event.stepId.startsWith(`step_${callPrefix}`);
  if (event.type === 'tool_call') return event.callId.startsWith(callPrefix);
  return false;
}

export function transcriptMessages(transcript: TranscriptEntry[]): PromptMessage[] {
  return transcript.map((entry) =>
    entry.role === 'assistant'
      ? { role: 'assistant', content: entry.content, toolCalls: entry.toolCalls }
      : { role: 'tool', toolCallId: entry.toolCallId, name: entry.name, content: entry.content, isError: entry.isError },
  );
}

/**
 * One model step of an agent run: the prompt (thread + the run's tool calls and results so far), the
 * agent's tools offered, the answer streamed into the run's stream as it comes — text and reasoning as
 * message steps, each tool call as a tool step with its arguments streaming. Returns the calls made.
 *
 * A retry continues the step: text already streamed is kept and the model asked to go on after it (as a
 * chat reply does); a tool call streamed again keeps its id (ids are the run's own, by step and position),
 * and only arguments beyond what the client already has are sent.
 */
export function createAgentModelStep(deps: AgentActivityDependencies) {
  return async function agentModelStep(input: AgentRunInput, request: { stepNumber: number; transcript: TranscriptEntry[] }): Promise<ModelStepResult> {
    const context = Context.current();
    const { stepNumber } = request;
    // Started before the provider's SDK is loaded and the writer opened, so neither eats into the heartbeat
    // timeout; until the writer is open a heartbeat carries the previous attempt's details on.
    let opened: RunWriter | undefined;
    const heartbeat = startActivityHeartbeat({ details: () => opened?.progress() ?? context.info.heartbeatDetails, intervalMs: STREAM_HEARTBEAT_INTERVAL_MS, streamId: input.streamId, stops: deps.runStops });
    try {
      const { endpoint, provider } = await runEndpoint(deps, input);
      const writer = (opened = await openAttemptWriter(deps, input, { lifetimeSeconds: runKeyLifetimeSeconds(deps.streamTtlSeconds, AGENT_RUN_MAX_DURATION_MS), step: stepNumber }));
      const earlierItems = writer.events.filter((item) => belongsToStep(item.event, input.responseMessageId, stepNumber));
      const earlier = earlierItems.map((item) => item.event);
      writer.heartbeatFrom(earlierItems[0]?.seq ?? writer.lastSeq + 1);
      const [offered, serverInstructions] = await Promise.all([deps.toolbox.definitions(input.userId, input.agent.tools), deps.toolbox.instructions(input.userId, input.agent.tools)]);
      // file_search is offered when the run has files to search (and a worker that can search them).
      const tools = input.agent.tools.includes(FILE_SEARCH_TOOL) && input.agent.fileIds?.length && deps.fileSearch ? [...offered, fileSearchDefinition] : offered;
      const alreadyStreamed = earlier.filter((event) => event.type === 'text').map((event) => (event as { text: string }).text).join('');
      const sentArguments = new Map<string, number>();
      for (const event of earlier) if (event.type === 'tool_call') sentArguments.set(event.callId, (sentArguments.get(event.callId) ?? 0) + event.argumentsDelta.length);
      if (context.info.attempt > 1) context.log.info('continuing the model step after a failed attempt', { streamId: input.streamId, stepNumber, alreadyStreamedChars: alreadyStreamed.length });

      // Where the next content part goes, and the message segment a retry continues (if the last thing
      // written was this step's text or reasoning).
      let partCount = foldReply(writer.events.map((item) => item.event), { prefixText: input.continuedText }).content.length;
      const lastEvent = writer.events.at(-1)?.event;
      let segments = earlier.filter((event) => event.type === 'step' && event.kind === 'message').length;
      let current: { kind: DeltaKind; stepId: string } | undefined =
        lastEvent && (lastEvent.type === 'text' || lastEvent.type === 'reasoning') && earlier.includes(lastEvent) ? { kind: lastEvent.type, stepId: lastEvent.stepId } : undefined;

      // The agent's instructions lead the system text (they are the agent's, not the conversation's settings).
      const system = [input.agent.instructions, input.parameters.system, serverInstructions].filter(Boolean).join('\n\n') || undefined;
      const promptInput = { ...input, parameters: { ...input.parameters, system } };
      const messages: PromptMessage[] = [
        // Attached files still being extracted are waited for in the first step only: a later step would wait again for a stuck one.
        ...(await buildPrompt(promptInput, endpoint, stepNumber > 1 ? { ...deps, attachmentWaitMs: 0 } : deps, heartbeat.signal)),
        ...transcriptMessages(request.transcript),
        ...continuationMessages(alreadyStreamed, provider.continuation),
      ];

      const deltas = createCoalescingWriter(async (pieces) => {
        for (const piece of pieces) {
          if (current?.kind !== piece.kind) {
            current = { kind: piece.kind, stepId: modelStepId(input.responseMessageId, stepNumber, segments) };
            segments += 1;
            await writer.append({ type: 'step', stepId: current.stepId, runId: input.responseMessageId, index: partCount, kind: 'message' });
            partCount += 1;
          }
          await writer.append({ type: piece.kind, stepId: current.stepId, text: piece.text });
        }
      }, { minIntervalMs: deps.streamFlushIntervalMs });

      const calls = new Map<number, ModelStepCall & { announced: boolean }>();
      let text = alreadyStreamed;
      const chunks = withIdleTimeout(
        (signal) => provider.stream({ endpoint, model: input.model, messages, parameters: input.parameters, maxOutputTokens: outputBudget(input), signal, tools }),
        { idleMs: endpoint.streamIdleTimeoutMs, outer: heartbeat.signal },
      );
      const { finishReason } = await relayProviderStream(chunks, {
        deltas,
        writer,
        signal: heartbeat.signal,
        onText: (piece) => {
          text += piece;
        },
        onToolCall: async (chunk) => {
          let call = calls.get(chunk.index);
          if (!call) {
            const id = toolCallId(input.responseMessageId, stepNumber, chunk.index);
            const announced = earlier.some((event) => event.type === 'step' && event.stepId === toolStepId(id));
            const previousPart = announced ? foldReply(writer.events.map((item) => item.event)).content.findIndex((part) => part.type === 'tool_call' && part.tool_call.id === id) : -1;
            call = { id, name: chunk.name, arguments: '', stepId: toolStepId(id), contentIndex: previousPart >= 0 ? previousPart : partCount, announced };
            calls.set(chunk.index, call);
            if (!announced) {
              await writer.append({ type: 'step', stepId: call.stepId, runId: input.responseMessageId, index: call.contentIndex, kind: 'tool_calls', toolCalls: [{ id, name: chunk.name }] });
              partCount += 1;
            }
            current = undefined;
          }
          if (chunk.signature) call.signature = chunk.signature;
          const before = call.arguments.length;
          call.arguments += chunk.argumentsDelta;
          // What the client already has from an earlier attempt is not sent again.
          const sent = sentArguments.get(call.id) ?? 0;
          const fresh = call.arguments.slice(Math.max(before, sent));
          if (fresh) await writer.append({ type: 'tool_call', stepId: call.stepId, index: call.contentIndex, callId: call.id, name: call.name, argumentsDelta: fresh });
        },
      });
      const toolCalls = [...calls.values()].map(({ announced: _announced, ...call }) => call);
      return { finishReason, text, toolCalls };
    } catch (error) {
      // Stopped through Redis: what was read is written; the step ends cancelled once Temporal says so.
      if (heartbeat.stopped) await heartbeat.afterStop();
      throw error;
    } finally {
      heartbeat.stop();
    }
  };
}
