import { getTestTemporalAddress } from '../support/temporal-test-env';
import { startFleet, type Fleet } from './fleet';
import { report, runsOf, scaled } from './processes';

const SUBMISSIONS = scaled(60, 60);

describe('the same request submitted many times at once', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({ address: getTestTemporalAddress(), latencyMs: 500 });
    await fleet.startWorker('worker');
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it(`runs one workflow and makes one provider call for ${SUBMISSIONS} concurrent submissions`, async () => {
    const input = fleet.input({ requestId: 'duplicate-1' });
    const submissions = await Promise.all(
      Array.from({ length: SUBMISSIONS }, () => fleet.gatehouse.submit(input)),
    );
    const workflowIds = new Set(submissions.map((submission) => submission.workflowId));
    expect(workflowIds.size).toBe(1);
    expect(submissions.filter((submission) => submission.started)).toHaveLength(1);
    const [workflowId] = [...workflowIds];
    const results = await Promise.all(
      submissions.map(() => fleet.gatehouse.result(workflowId!, { tenantId: 'demo', apiKey: fleet.apiKey })),
    );
    expect(new Set(results.map((result) => result.runId)).size).toBe(1);
    expect(await runsOf(fleet.client, workflowId!)).toBe(1);
    expect(fleet.emulator.callCount(undefined, 'chat-completions')).toBe(1);
    report('duplicate submission', {
      submissions: SUBMISSIONS,
      'workflows started': submissions.filter((submission) => submission.started).length,
      runs: 1,
      'provider calls': fleet.emulator.callCount(undefined, 'chat-completions'),
    });
  });
});
