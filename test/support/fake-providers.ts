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
 * A provider that follows a script, one step per call, and counts its calls. It fails loudly when called
 * more often than scripted, so an unexpected extra attempt fails the test instead of passing unseen.
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
      const step = script[calls.length];
      calls.push(request);
      if (!step)
        throw new Error(
          `scripted provider called ${calls.length} times; its script has ${script.length} step(s)`,
        );
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
