import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { createLocalTokenCounter, type TokenCounter } from '../providers/token-counter';
import { attestGovernanceChanges } from '../governance/governance-attestation';
import { createPromptVersion } from '../store/prompt-repository';
import { DEMO_PROMPT_TEMPLATES, DEMO_TENANT_ID } from '../store/seed-demo';
import { benchRequest, PRIMARY_MODEL, type BenchEnvironment } from './bench-environment';
import { round, summarize, type Summary } from './statistics';

const LARGE_PROMPT_NAME = 'bench-large-prompt';
const LARGE_PROMPT_TOKENS = 100_000;

/** Deterministic handbook prose, no template braces, grown until it counts `tokens` locally. */
export function handbookText(counter: TokenCounter, tokens: number): string {
  const paragraphs: string[] = [];
  let counted = 0;
  for (let section = 1; counted < tokens; section++) {
    const paragraph =
      `Section ${section}. Requests filed under reference LC-${1000 + section} are reviewed within ` +
      `${(section % 9) + 1} business days by the ${['finance', 'support', 'security', 'legal'][section % 4]} ` +
      `team; an employee who disagrees with the outcome may escalate it once, in writing, to their manager, ` +
      `who answers within ${(section % 5) + 2} days and records the decision in the case history.`;
    paragraphs.push(paragraph);
    counted += counter.count(paragraph) + 1;
  }
  return paragraphs.join('\n');
}

export interface LargePromptResult {
  id: 'B6';
  promptTokens: number;
  /** Per pair: Gatehouse − direct, for B1's request and for the request with the large template. */
  b1Added: Summary;
  b6Added: Summary;
  /** B6 added p50 − B1 added p50, the figure the target bounds. */
  addedOverB1P50: number;
  /** History bytes of one request of each kind, as the server counts them. */
  historyBytesPerRequest: { b1: number; b6: number };
  errors: number;
  met: boolean;
}

/**
 * B6: a request whose prompt template is ~100k tokens. The caller sends only the template's name and
 * version; the template is stored once. Rounds alternate B1's request and this one, each followed by the
 * same prompt sent directly, so both added latencies come from the same minutes.
 */
export async function runLargePromptBenchmark(
  env: BenchEnvironment,
  options: { quick: boolean; log: (line: string) => void },
): Promise<LargePromptResult> {
  const counter = createLocalTokenCounter();
  const qa = DEMO_PROMPT_TEMPLATES.find((template) => template.name === 'qa')!;
  const handbook = handbookText(counter, LARGE_PROMPT_TOKENS);
  const version = await createPromptVersion(env.db, {
    tenantId: DEMO_TENANT_ID,
    name: LARGE_PROMPT_NAME,
    systemTemplate: `${qa.systemTemplate}\n\nEmployee handbook:\n${handbook}`,
    userTemplate: qa.userTemplate,
  });
  // Attested like any published version: requests are served only under attested prompts (decision 0028).
  await attestGovernanceChanges(env.audit, DEMO_TENANT_ID, 'bench (B6 prompt)');
  const send = async (large: boolean) => {
    const started = performance.now();
    try {
      const result = await env.gatehouse.execute({
        ...benchRequest(env),
        ...(large ? { prompt: { name: LARGE_PROMPT_NAME, version } } : {}),
      });
      return { ms: performance.now() - started, workflowId: result.workflowId };
    } catch (error) {
      options.log(`B6 request failed: ${(error as Error).message}`);
      return { ms: performance.now() - started };
    }
  };
  const lastPrompt = () => {
    const call = [...env.emulator.calls()].reverse().find((entry) => entry.operation === 'converse');
    return { system: call?.system ?? '', user: call?.userText ?? '' };
  };
  const direct = async (prompt: { system: string; user: string }) => {
    const started = performance.now();
    await env.direct.send(
      new ConverseCommand({
        modelId: PRIMARY_MODEL,
        system: [{ text: prompt.system }],
        messages: [{ role: 'user', content: [{ text: prompt.user }] }],
        inferenceConfig: { maxTokens: 512 },
      }),
    );
    return performance.now() - started;
  };
  await send(false);
  const smallPrompt = lastPrompt();
  const warm = await send(true);
  const largePrompt = lastPrompt();
  const promptTokens = counter.count(largePrompt.system) + counter.count(largePrompt.user);
  for (let index = 0; index < 3; index++) await direct(largePrompt);
  const b1Added: number[] = [];
  const b6Added: number[] = [];
  let errors = 0;
  let lastWorkflowIds = { b1: '', b6: warm.workflowId ?? '' };
  const rounds = options.quick ? 10 : 60;
  for (let index = 0; index < rounds; index++) {
    const b1 = await send(false);
    const b1Direct = await direct(smallPrompt);
    const b6 = await send(true);
    const b6Direct = await direct(largePrompt);
    if (!b1.workflowId || !b6.workflowId) {
      errors += 1;
      continue;
    }
    lastWorkflowIds = { b1: b1.workflowId, b6: b6.workflowId };
    b1Added.push(b1.ms - b1Direct);
    b6Added.push(b6.ms - b6Direct);
  }
  // The server's own count of a history's bytes, as it enforces the 50 MB limit.
  const historyBytes = async (workflowId: string) =>
    workflowId
      ? ((await env.client.workflow.getHandle(workflowId).describe()).historySize ?? Number.NaN)
      : Number.NaN;
  const historyBytesPerRequest = {
    b1: await historyBytes(lastWorkflowIds.b1),
    b6: await historyBytes(lastWorkflowIds.b6),
  };
  const b1 = summarize(b1Added);
  const b6 = summarize(b6Added);
  const addedOverB1P50 = round(b6.p50 - b1.p50);
  options.log(
    `B6: ${promptTokens} prompt tokens, added p50 ${round(b6.p50)} ms against B1 ${round(b1.p50)} ms`,
  );
  return {
    id: 'B6',
    promptTokens,
    b1Added: b1,
    b6Added: b6,
    addedOverB1P50,
    historyBytesPerRequest,
    errors,
    met: errors === 0 && addedOverB1P50 <= 60,
  };
}

export interface TokenCountResult {
  id: 'T1';
  promptChars: number;
  promptTokens: number;
  /** Milliseconds to count the prompt once, the encoder already loaded. */
  countMs: Summary;
  /** The first count in this process; the encoder's tables load when its module is imported, as at worker start. */
  firstCountMs: number;
  met: boolean;
}

/** T1: the worker's token counter on a 4 KB prompt, after its encoder has loaded (as at worker start). */
export function runTokenCountBenchmark(options: { quick: boolean }): TokenCountResult {
  const counter = createLocalTokenCounter();
  const firstStarted = performance.now();
  counter.count('warm-up');
  const firstCountMs = performance.now() - firstStarted;
  const prompt = handbookText(counter, 2_000).slice(0, 4_096);
  // Different prompts each round (a changed section number) so the encoder's cache cannot answer alone.
  const prompts = Array.from({ length: 50 }, (_, index) => prompt.replace('Section 1.', `Section ${index}.`));
  for (let index = 0; index < 200; index++) counter.count(prompts[index % prompts.length]!);
  const times: number[] = [];
  const rounds = options.quick ? 500 : 5_000;
  for (let index = 0; index < rounds; index++) {
    const text = prompts[index % prompts.length]!;
    const started = performance.now();
    counter.count(text);
    times.push(performance.now() - started);
  }
  const countMs = summarize(times);
  return {
    id: 'T1',
    promptChars: prompt.length,
    promptTokens: counter.count(prompt),
    countMs,
    firstCountMs: round(firstCountMs),
    met: countMs.p50 <= 1,
  };
}
