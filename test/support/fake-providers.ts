import type { ProviderErrorClass } from '../../domain/classify-provider-error';
import type { InferenceRequest, InferenceResponse } from '../../domain/step-contracts';
import { ProviderError, type GenerateOptions, type ModelProvider } from '../../providers/model-provider';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Wraps a provider so its deltas arrive `delayMs` apart, as a real model's would. */
export function slowStreaming(inner: ModelProvider, delayMs: number): ModelProvider {
  return {
    name: inner.name,
    async generate(request: InferenceRequest, options: GenerateOptions = {}): Promise<InferenceResponse> {
      const deltas: string[] = [];
      const response = await inner.generate(request, { ...options, onDelta: (text) => deltas.push(text) });
      for (const delta of deltas) {
        await sleep(delayMs);
        options.onDelta?.(delta);
      }
      return response;
    },
  };
}

export type ScriptStep =
  | { kind: 'ok'; text: string; citedDocumentIds?: string[] }
  | { kind: 'fail'; classification: ProviderErrorClass; afterDeltas?: string[] };

/**
 * A provider that follows a script, one step per call (the last step repeats), and counts its calls.
 * Stands in for a model in tests of the attempt loop; the real providers are tested against emulators.
 */
export function scriptedProvider(
  name: ModelProvider['name'],
  script: ScriptStep[],
): ModelProvider & { calls: InferenceRequest[] } {
  const calls: InferenceRequest[] = [];
  return {
    name,
    calls,
    async generate(request: InferenceRequest, options: GenerateOptions = {}): Promise<InferenceResponse> {
      const step = script[Math.min(calls.length, script.length - 1)]!;
      calls.push(request);
      const usage = { inputTokens: 100, outputTokens: 10, cacheReadTokens: 0, cacheWriteTokens: 0 };
      if (step.kind === 'ok') {
        options.onDelta?.(step.text);
        return {
          text: step.text,
          citedDocumentIds: step.citedDocumentIds ?? [],
          finishReason: 'stop',
          usage,
          latencyMs: 1,
        };
      }
      for (const delta of step.afterDeltas ?? []) {
        options.onDelta?.(delta);
        await sleep(60);
      }
      throw new ProviderError(`scripted ${step.classification.code}`, step.classification, {
        ...usage,
        outputTokens: 0,
      });
    },
  };
}
