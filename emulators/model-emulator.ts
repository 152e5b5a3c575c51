import type { ModelScript } from './scripted-model';

/** What every model emulator gives tests and benchmarks: where it listens, its call log, per-model scripts. */
export interface ModelEmulator<Call, Operation extends string> {
  /** What a client or route points at: the Bedrock endpoint, or the OpenAI API base (`…/v1`). */
  endpoint: string;
  port: number;
  calls(): Call[];
  callCount(model?: string, operation?: Operation): number;
  setScript(model: string, script: ModelScript): void;
  /** Clears the call log and restores the scripts (and guardrails) given at start. */
  reset(): void;
  close(): Promise<void>;
}
