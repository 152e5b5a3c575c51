import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker, type ReplayResult } from '@temporalio/worker';
import {
  ENCRYPTED_FAILURE_CONVERTER_PATH,
  createGatehouseDataConverter,
} from '../../codec/gatehouse-data-converter';
import { PayloadEncryptionCodec } from '../../codec/payload-encryption-codec';
import { WORKFLOW_BUNDLER_OPTIONS } from '../../worker/workflow-bundle-options';
import { readableText } from '../codec/history-payloads';
import { HISTORY_DIR, replayFixtureKeyring } from '../support/history-recording';

/**
 * Histories recorded before retrieve ran as a local activity (docs/decisions/0030), kept so
 * that runs started then are still replayed by the current code.
 */
const BEFORE_LOCAL_STEPS = 'before-local-retrieve';

const historyFiles = [HISTORY_DIR, path.join(HISTORY_DIR, BEFORE_LOCAL_STEPS)]
  .flatMap((dir) =>
    readdirSync(dir)
      .filter((file) => file.endsWith('.json'))
      .map((file) => path.relative(HISTORY_DIR, path.join(dir, file))),
  )
  .sort();

function* histories() {
  for (const file of historyFiles) {
    yield {
      workflowId: file.replace(/\.json$/, ''),
      history: historyFromJSON(JSON.parse(readFileSync(path.join(HISTORY_DIR, file), 'utf8'))),
    };
  }
}

/**
 * Replays with the data converter every worker runs; the committed histories are encrypted with the
 * published replay fixture key (test/support/history-recording.ts).
 */
async function replayAll(workflowsPath: string): Promise<ReplayResult[]> {
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath,
    failureConverterPath: ENCRYPTED_FAILURE_CONVERTER_PATH,
    logger: undefined,
    ...WORKFLOW_BUNDLER_OPTIONS,
  });
  const results: ReplayResult[] = [];
  for await (const result of Worker.runReplayHistories(
    {
      workflowBundle,
      replayName: 'gatehouse-replay',
      dataConverter: createGatehouseDataConverter(replayFixtureKeyring()),
    },
    histories(),
  )) {
    results.push(result);
  }
  return results;
}

describe('replay of committed histories', () => {
  it('has committed histories of the request scenarios to replay', () => {
    expect(historyFiles).toEqual(
      expect.arrayContaining([
        'succeeded-qa.json',
        'denied-unknown-tenant.json',
        'budget-exceeded.json',
        'approved-restricted.json',
        'retried-then-fell-back.json',
        'stream-interrupted.json',
        'reset-after-failed-infer.json',
        'terminated-during-infer.json',
        'ingested-directory.json',
        'redacted-request.json',
        'guardrail-blocked.json',
        ...[
          'succeeded-qa.json',
          'budget-exceeded.json',
          'retried-then-fell-back.json',
          'reset-after-failed-infer.json',
          'terminated-during-infer.json',
        ].map((file) => path.join(BEFORE_LOCAL_STEPS, file)),
      ]),
    );
  });

  it('has histories of both shapes: retrieve as a local activity, and as a regular one', () => {
    const scheduledTypes = (file: string) =>
      (historyFromJSON(JSON.parse(readFileSync(path.join(HISTORY_DIR, file), 'utf8'))).events ?? []).flatMap(
        (event) => event.activityTaskScheduledEventAttributes?.activityType?.name ?? [],
      );
    const patchMarkers = (file: string) =>
      (historyFromJSON(JSON.parse(readFileSync(path.join(HISTORY_DIR, file), 'utf8'))).events ?? []).filter(
        (event) => event.markerRecordedEventAttributes?.markerName === 'core_patch',
      ).length;
    expect(scheduledTypes('succeeded-qa.json')).toEqual(['infer', 'record']);
    expect(patchMarkers('succeeded-qa.json')).toBe(1);
    expect(scheduledTypes(path.join(BEFORE_LOCAL_STEPS, 'succeeded-qa.json'))).toEqual([
      'retrieve',
      'infer',
      'record',
    ]);
    expect(patchMarkers(path.join(BEFORE_LOCAL_STEPS, 'succeeded-qa.json'))).toBe(0);
  });

  it('keeps the redaction mapping of the redacted request only inside encrypted payloads', async () => {
    const json = readFileSync(path.join(HISTORY_DIR, 'redacted-request.json'), 'utf8');
    expect(readableText(json)).not.toContain('jane.doe@example.com');
    const codec = new PayloadEncryptionCodec(replayFixtureKeyring());
    const results: unknown[] = [];
    for (const event of historyFromJSON(JSON.parse(json)).events ?? []) {
      const payloads = event.activityTaskCompletedEventAttributes?.result?.payloads;
      if (!payloads?.length) continue;
      const [decoded] = await codec.decode(payloads);
      results.push(defaultPayloadConverter.fromPayload(decoded!));
    }
    // Decrypted with the key, the infer activity's result carries the mapping the answer was restored from.
    expect(results).toContainEqual(
      expect.objectContaining({
        value: expect.objectContaining({
          redaction: expect.objectContaining({
            entityCounts: { EMAIL: 1, PAYMENT_CARD: 1 },
            mapping: expect.objectContaining({
              originals: expect.objectContaining({ '[EMAIL_1]': 'jane.doe@example.com' }),
            }),
          }),
        }),
      }),
    );
  });

  it('replays every committed history with the current workflow code', async () => {
    const results = await replayAll(require.resolve('../../workflows'));
    expect(results).toHaveLength(historyFiles.length);
    for (const result of results) {
      expect({
        workflowId: result.workflowId,
        error: result.error ? String(result.error) : undefined,
      }).toEqual({
        workflowId: result.workflowId,
        error: undefined,
      });
    }
  });

  it('fails replay for a non-deterministic change (negative control)', async () => {
    const results = await replayAll(require.resolve('./incompatible-workflow'));
    expect(results).toHaveLength(historyFiles.length);
    for (const result of results) {
      expect(result.error).toBeDefined();
      expect(String(result.error)).toMatch(/[Nn]ondeterminism|DeterminismViolation|TMPRL1100/);
    }
  });
});
