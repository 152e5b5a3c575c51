import {
  ConverseCommand,
  ConverseStreamCommand,
  type BedrockRuntimeClient,
  type ConverseCommandInput,
  type TokenUsage as BedrockTokenUsage,
} from '@aws-sdk/client-bedrock-runtime';
import type { TokenUsage } from '../domain/cost';
import { finishReasonsFrom } from './finish-reasons';
import { ClientSideFailureError } from './model-provider';

/** https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#bedrock-runtime_Converse-response-stopReason */
export const BEDROCK_STOP_REASONS = finishReasonsFrom({
  stop: ['end_turn', 'stop_sequence'],
  length: ['max_tokens', 'model_context_window_exceeded'],
  'content-filter': ['guardrail_intervened', 'content_filtered'],
  other: ['tool_use', 'malformed_model_output', 'malformed_tool_use'],
});

export interface ConverseResult {
  text: string;
  stopReason: string;
  usage: BedrockTokenUsage | undefined;
}

export async function converse(
  client: BedrockRuntimeClient,
  input: ConverseCommandInput,
  signal: AbortSignal | undefined,
): Promise<ConverseResult> {
  const output = await client.send(new ConverseCommand(input), { abortSignal: signal });
  const content = output.output?.message?.content;
  if (!content || !output.stopReason) {
    throw new ClientSideFailureError(
      'malformedResponse',
      'MissingOutput',
      'Converse returned no message or stop reason',
    );
  }
  const text = content.map((block) => block.text ?? '').join('');
  return { text, stopReason: output.stopReason, usage: output.usage };
}

export async function converseStream(
  client: BedrockRuntimeClient,
  input: ConverseCommandInput,
  signal: AbortSignal | undefined,
  onText: (text: string) => void,
): Promise<ConverseResult> {
  const output = await client.send(new ConverseStreamCommand(input), { abortSignal: signal });
  if (!output.stream) {
    throw new ClientSideFailureError(
      'malformedResponse',
      'MissingStream',
      'ConverseStream returned no event stream',
    );
  }
  let text = '';
  let stopReason: string | undefined;
  let usage: BedrockTokenUsage | undefined;
  for await (const event of output.stream) {
    const delta = event.contentBlockDelta?.delta?.text;
    if (delta) {
      text += delta;
      onText(delta);
    }
    if (event.messageStop) stopReason = event.messageStop.stopReason;
    if (event.metadata) usage = event.metadata.usage;
  }
  if (!stopReason) {
    throw new ClientSideFailureError(
      text ? 'streamInterrupted' : 'malformedResponse',
      'MissingMessageStop',
      'the event stream ended without a messageStop event',
    );
  }
  return { text, stopReason, usage };
}

export function mapUsage(usage: BedrockTokenUsage | undefined): TokenUsage {
  return {
    inputTokens: usage?.inputTokens ?? 0,
    outputTokens: usage?.outputTokens ?? 0,
    cacheReadTokens: usage?.cacheReadInputTokens ?? 0,
    cacheWriteTokens: usage?.cacheWriteInputTokens ?? 0,
  };
}
