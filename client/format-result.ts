import type { AuditEventRow } from './cli-types';
import type { LlmResult, RequestProgress } from '../domain/step-contracts';

const money = (usd: number) => `$${usd.toFixed(6)}`;

/** A person-readable rendering of a request's result, for the CLI. */
export function formatResult(
  result: LlmResult,
  uiLink: string,
  options: { omitOutput?: boolean } = {},
): string {
  const lines = options.omitOutput ? [] : [result.output, ''];
  if (result.citations.length > 0) {
    lines.push('Citations:');
    for (const citation of result.citations) {
      lines.push(`  [${citation.documentId}] ${citation.title} (version ${citation.documentVersion})`);
    }
  } else {
    lines.push('Citations: none');
  }
  const usage = result.usage;
  lines.push(
    `Route:     ${result.route.id} — ${result.route.label}`,
    `Tokens:    ${usage.inputTokens} in, ${usage.outputTokens} out` +
      (usage.cacheReadTokens || usage.cacheWriteTokens
        ? `, cache ${usage.cacheReadTokens} read / ${usage.cacheWriteTokens} written`
        : ''),
    `Cost:      ${money(result.costUsd)} over ${result.attempts.length} attempt(s)` +
      (result.fallbacks.length > 0
        ? ` · fell back: ${result.fallbacks.map((fallback) => `${fallback.fromRouteId} → ${fallback.toRouteId} (${fallback.reason})`).join('; ')}`
        : ''),
    `Prompt:    ${result.promptVersion} · policy version ${result.policyVersion}`,
    `Timings:   ${Object.entries(result.timings)
      .map(([step, ms]) => `${step} ${ms.toFixed(1)} ms`)
      .join(' · ')}`,
    ...(result.timeToFirstTokenMs === undefined
      ? []
      : [`First text: ${result.timeToFirstTokenMs.toFixed(0)} ms`]),
    ...(result.approval
      ? [`Approval:  ${result.approval.decision} by ${result.approval.approverId ?? 'nobody'}`]
      : []),
    `Workflow:  ${result.workflowId}`,
    `Temporal:  ${uiLink}`,
  );
  return lines.join('\n');
}

export function formatProgress(progress: RequestProgress): string {
  const lines = [`Outcome: ${progress.outcome} (current step: ${progress.currentStep})`, 'Steps:'];
  for (const step of progress.steps) {
    lines.push(
      `  ${step.step.padEnd(16)} ${step.status.padEnd(9)} ${step.elapsedMs.toFixed(1).padStart(8)} ms`,
    );
  }
  if (progress.failure) {
    lines.push(`Failure: ${progress.failure.type} at ${progress.failure.step}: ${progress.failure.message}`);
  }
  return lines.join('\n');
}

export function formatAuditEvents(events: AuditEventRow[]): string {
  if (events.length === 0) return 'Audit events: none';
  const lines = ['Audit events:'];
  for (const event of events) {
    lines.push(
      `  #${event.seq} ${event.step}${event.attempt ? ` (attempt ${event.attempt})` : ''} ${event.eventType} ${event.hash.slice(0, 12)}`,
    );
  }
  return lines.join('\n');
}
