/**
 * Feedback on a request through the client and the CLI, against a real dev server: only the requester's
 * key may give it, it is stored with what served the request, audited (and the chain still verifies),
 * and it appears in `report cost` next to route and prompt version.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { RequestInvalidError, RequestNotFoundError } from '../../client/errors';
import { parseScore } from '../../client/feedback-command';
import { prepareFeedback } from '../../client/send-feedback';
import { feedbackWorkflowId, type FeedbackInput } from '../../domain/feedback-contract';
import { listAuditEvents } from '../../store/audit-repository';
import { listFeedback } from '../../store/feedback-repository';
import { startHarness, type GatehouseHarness } from '../support/gatehouse-harness';
import { runCli, runCliJson } from '../support/run-cli';

describe('feedback on a request', () => {
  let harness: GatehouseHarness;
  let workflowId: string;

  beforeAll(async () => {
    harness = await startHarness();
    const submitted = await harness.gatehouse.submit(
      harness.input({ requestId: 'feedback-1', feature: 'refund-faq' }),
    );
    await harness.gatehouse.result(submitted.workflowId, harness.caller);
    workflowId = submitted.workflowId;
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('stores the requester’s feedback with the route, prompt version and documents, once, and audits it', async () => {
    const recorded = await harness.gatehouse.feedback(workflowId, harness.caller, {
      score: 1,
      comment: 'Clear, and it cited the policy.',
      feedbackId: 'fb-a',
    });
    const result = await harness.gatehouse.result(workflowId, harness.caller);
    expect(recorded).toEqual(
      expect.objectContaining({
        feedbackId: 'fb-a',
        requestId: 'feedback-1',
        score: 1,
        routeId: result.route.id,
        promptRef: result.promptVersion,
      }),
    );
    expect(recorded.retrievedDocumentIds.length).toBeGreaterThan(0);
    expect(new Set(result.citations.map((citation) => citation.documentId))).toEqual(
      new Set(
        result.citations
          .map((citation) => citation.documentId)
          .filter((id) => recorded.retrievedDocumentIds.includes(id)),
      ),
    );
    // Sent again with the same id: the same item, stored and audited once.
    const again = await harness.gatehouse.feedback(workflowId, harness.caller, {
      score: 1,
      comment: 'Clear, and it cited the policy.',
      feedbackId: 'fb-a',
    });
    expect(again.feedbackId).toBe('fb-a');
    const stored = await listFeedback(harness.db, { tenantIds: ['demo'], workflowId });
    expect(stored).toEqual([
      expect.objectContaining({
        id: 'fb-a',
        principalId: 'demo-analyst',
        score: 1,
        comment: 'Clear, and it cited the policy.',
      }),
    ]);
    const events = (await listAuditEvents(harness.db, { tenantId: 'demo', workflowId })).filter(
      (event) => event.eventType === 'feedback.recorded',
    );
    expect(events).toHaveLength(1);
    expect(events[0]).toEqual(expect.objectContaining({ step: 'feedback', attempt: 1 }));
    expect(events[0]!.payload).toEqual(
      expect.objectContaining({
        feedbackId: 'fb-a',
        score: 1,
        principalId: 'demo-analyst',
        routeId: result.route.id,
      }),
    );
    // The comment stays out of the trail; its hash is there.
    expect(JSON.stringify(events[0]!.payload)).not.toContain('cited the policy');

    const verify = await runCli(harness.cliSettings(), 'audit', 'verify', '--tenant', 'demo');
    expect(verify.exitCode).toBe(0);
  });

  it('refuses another tenant, another principal’s key, a bad score and a forged proof', async () => {
    // Another tenant's request id is not found; claiming another tenant for this request is refused.
    await expect(
      harness.gatehouse.feedback('gatehouse/acme/feedback-1', harness.caller, { score: 1 }),
    ).rejects.toBeInstanceOf(RequestNotFoundError);
    await expect(
      harness.gatehouse.feedback(workflowId, { tenantId: 'acme', apiKey: harness.apiKey }, { score: 1 }),
    ).rejects.toThrow(/no request gatehouse\/demo\/feedback-1 in this tenant/);
    await expect(
      harness.gatehouse.feedback(
        workflowId,
        { tenantId: 'demo', apiKey: harness.contractorApiKey },
        { score: -1 },
      ),
    ).rejects.toBeInstanceOf(RequestNotFoundError);
    await expect(harness.gatehouse.feedback(workflowId, harness.caller, { score: 5 })).rejects.toBeInstanceOf(
      RequestInvalidError,
    );
    // Straight to the workflow, past the client's checks: the worker checks the proof itself.
    const forged: FeedbackInput = {
      tenantId: 'demo',
      workflowId,
      feedbackId: 'forged',
      score: -1,
      comment: null,
      caller: { keyId: 'not-a-key' },
      signedAt: Date.now(),
      proof: 'AAAA',
    };
    const failure = await harness.client.workflow
      .execute('requestFeedbackWorkflow', {
        taskQueue: harness.taskQueue,
        workflowId: feedbackWorkflowId(workflowId, 'forged'),
        args: [forged],
      })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(String((failure as { cause?: { cause?: Error } }).cause?.cause?.message)).toMatch(
      /not signed by a key of this tenant/,
    );
    expect(
      (await listFeedback(harness.db, { tenantIds: ['demo'], workflowId })).map((item) => item.id),
    ).toEqual(['fb-a']);
  });

  it('refuses at once the same feedback id sent again with another score', async () => {
    const started = Date.now();
    await expect(
      harness.gatehouse.feedback(workflowId, harness.caller, { score: -1, feedbackId: 'fb-a' }),
    ).rejects.toThrow(/feedback fb-a is already stored with other content/);
    // A conflict is final: not retried through the activity's backoff (about half a minute).
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(
      (await listFeedback(harness.db, { tenantIds: ['demo'], workflowId })).map((item) => item.score),
    ).toEqual([1]);
  });

  it('takes feedback from the CLI and shows it in report cost next to route and prompt version', async () => {
    const cli = await runCli(
      harness.cliSettings(),
      'feedback',
      'feedback-1',
      '--score',
      '-1',
      '--comment',
      'Missed the 30-day limit.',
    );
    expect(cli.stderr).toBe('');
    expect(cli.stdout).toMatch(
      /^feedback [0-9a-f-]{36} recorded on gatehouse\/demo\/feedback-1: score -1, route \S+, prompt \S+, documents \S+/,
    );
    const other = await runCli(
      harness.cliSettings(),
      'feedback',
      'gatehouse/acme/feedback-1',
      '--score',
      '1',
    );
    expect(other.exitCode).toBe(4);

    const { json } = await runCliJson<{
      rows: Array<{ route: string; prompt: string; feedbackCount: number; feedbackMeanScore: number | null }>;
    }>(harness.cliSettings(), 'report', 'cost', '--by', 'route,prompt');
    expect(json.rows).toEqual([expect.objectContaining({ feedbackCount: 2, feedbackMeanScore: 0 })]);
    const table = await runCli(harness.cliSettings(), 'report', 'cost', '--by', 'route,prompt');
    expect(table.stdout).toMatch(/feedback\s+score$/m);
  });

  it('numbers items sent at the same moment in turn, each once in the audit trail', async () => {
    // Last, on a request of its own: the cases above count this request's items and the tenant's.
    const own = await harness.gatehouse.execute(harness.input({ requestId: 'feedback-concurrent' }));
    const ids = ['fb-c1', 'fb-c2', 'fb-c3', 'fb-c4'];
    await Promise.all(
      ids.map((feedbackId, index) =>
        harness.gatehouse.feedback(own.workflowId, harness.caller, {
          score: index % 2 === 0 ? 1 : -1,
          feedbackId,
        }),
      ),
    );
    const events = (
      await listAuditEvents(harness.db, { tenantId: 'demo', workflowId: own.workflowId })
    ).filter((event) => event.eventType === 'feedback.recorded');
    const attempts = events.map((event) => event.attempt);
    expect(new Set(attempts).size).toBe(attempts.length);
    expect(
      events.filter((event) => ids.includes((event.payload as { feedbackId: string }).feedbackId)),
    ).toHaveLength(ids.length);
    expect(Math.max(...attempts)).toBe(attempts.length);
  });
});

describe('gatehouse feedback --score', () => {
  it('takes -1, 0 and 1, and refuses a blank, a fraction, NaN and other spellings of a number', () => {
    expect(['-1', '0', '1', ' 1 '].map(parseScore)).toEqual([-1, 0, 1, 1]);
    for (const score of ['', ' ', 'NaN', '0.5', '2', '-2', '1e0', '0x1']) {
      expect(() => parseScore(score)).toThrow('-1 (bad), 0 (neutral) or 1 (good)');
    }
  });
});

describe('prepareFeedback', () => {
  const caller = { tenantId: 'demo', apiKey: 'a-key' };
  const workflowId = 'gatehouse/demo/r';

  it('refuses a score out of range or NaN, and a 1 MB comment, before anything is sent', () => {
    for (const score of [2, -2, 0.5, Number.NaN]) {
      expect(() => prepareFeedback(workflowId, caller, { score })).toThrow(RequestInvalidError);
    }
    expect(() => prepareFeedback(workflowId, caller, { score: 1, comment: 'x'.repeat(1 << 20) })).toThrow(
      /longer than 2000 characters/,
    );
  });

  it('keeps a comment with markup and control characters as it was written; a blank one is none', () => {
    const comment = '</script><script>alert(1)</script>\u0000\u001b[31m';
    expect(prepareFeedback(workflowId, caller, { score: -1, comment }).comment).toBe(comment);
    expect(prepareFeedback(workflowId, caller, { score: 0, comment: ' \n ' }).comment).toBeNull();
  });
});
