import { randomBytes } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { createGatehouseDataConverter } from '../../codec/gatehouse-data-converter';
import { LOCAL_RETRIEVE_PATCH } from '../../workflows/activity-options';
import { randomPayloadKeyring, startHarness, type GatehouseHarness } from '../support/gatehouse-harness';
import { TEST_WORKFLOW_BUNDLE_ENV } from '../support/temporal-test-env';
import {
  isTemporalBookkeeping,
  payloadEncoding,
  payloadsInJson,
  rawHistoryJson,
  readableText,
  seedCanaryDocument,
} from './history-payloads';

const QUESTION_CANARY = `QCANARY${randomBytes(6).toString('hex')}`;
const DOCUMENT_CANARY = `DCANARY${randomBytes(6).toString('hex')}`;

describe('payload encryption on a real request (history as stored by Temporal)', () => {
  let harness: GatehouseHarness;
  let workflowId: string;
  let answer: string;
  let historyJson: string;

  beforeAll(async () => {
    harness = await startHarness();
    await seedCanaryDocument(harness.db, DOCUMENT_CANARY);
    const question = `What is the refund policy and who approves refunds? ${QUESTION_CANARY}`;
    const submitted = await harness.gatehouse.submit(
      harness.input({ requestId: `canary-${randomBytes(4).toString('hex')}`, question }),
    );
    workflowId = submitted.workflowId;
    const result = await harness.gatehouse.result(workflowId, harness.caller);
    answer = result.output;
    historyJson = await rawHistoryJson(harness.client, workflowId);
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('decodes for the client that holds the keys: the answer quotes the canary document', () => {
    // Without this the checks below could pass on a request that never carried the canaries.
    expect(answer).toContain(DOCUMENT_CANARY);
  });

  it('stores neither canary nor any question, document or answer text in history', () => {
    const visible = readableText(historyJson);
    expect(visible).not.toContain(QUESTION_CANARY);
    expect(visible).not.toContain(DOCUMENT_CANARY);
    expect(visible).not.toContain('who approves refunds');
    expect(visible).not.toContain('approved by the desk');
    expect(visible).not.toContain(answer.slice(0, 40));
    // The shipped demo documents the retrieval step read are no more visible than the seeded one.
    expect(visible).not.toContain('Customers can request a full refund');
  });

  it('leaves in plain text only the patch id of a patch marker, no application data', () => {
    const patches = payloadsInJson(JSON.parse(historyJson)).filter((payload) =>
      payload.path.includes('.patch-data.'),
    );
    expect(
      patches.map((payload) => JSON.parse(Buffer.from(payload.data ?? '', 'base64').toString('utf8'))),
    ).toEqual([{ id: LOCAL_RETRIEVE_PATCH, deprecated: false }]);
  });

  it('encrypts every payload the application wrote, each labelled with key id and tenant', () => {
    const payloads = payloadsInJson(JSON.parse(historyJson)).filter(
      (payload) => !isTemporalBookkeeping(payload),
    );
    expect(payloads.length).toBeGreaterThan(10);
    for (const payload of payloads) {
      expect({ path: payload.path, encoding: payloadEncoding(payload) }).toEqual({
        path: payload.path,
        encoding: 'binary/encrypted',
      });
      const label = (key: string) => Buffer.from(payload.metadata[key] ?? '', 'base64').toString('utf8');
      expect(label('encryption-key-id')).toBe(harness.keyring.activeKeyId);
      expect(label('gatehouse-tenant')).toBe('demo');
    }
  });

  it('encodes failure messages and stack traces too', async () => {
    const question = `Summarise the refund policy ${QUESTION_CANARY}`;
    const submitted = await harness.gatehouse.submit(
      harness.input({
        requestId: `denied-${randomBytes(4).toString('hex')}`,
        question,
        apiKey: 'wrong-key-for-demo',
      }),
    );
    const outcome = await harness.client.workflow
      .getHandle(submitted.workflowId)
      .result()
      .catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    // The client with keys reads the real message.
    expect(((outcome as WorkflowFailedError).cause as Error).message).toMatch(/API key/);

    const raw = await rawHistoryJson(harness.client, submitted.workflowId);
    const visible = readableText(raw);
    expect(visible).not.toContain(QUESTION_CANARY);
    expect(visible).not.toMatch(/API key is not valid/);
    expect(raw).toContain('"message": "Encoded failure"');
    expect(raw).toContain('Policy.Denied');
  });

  it('replays the encrypted history with the keys, and not without them', async () => {
    const history = historyFromJSON(JSON.parse(historyJson));
    const workflowBundle = { codePath: process.env[TEST_WORKFLOW_BUNDLE_ENV]! };
    await Worker.runReplayHistory(
      { workflowBundle, replayName: 'encrypted', dataConverter: harness.dataConverter },
      history,
      workflowId,
    );
    await expect(
      Worker.runReplayHistory(
        {
          workflowBundle,
          replayName: 'encrypted-wrong-key',
          dataConverter: createGatehouseDataConverter(randomPayloadKeyring()),
        },
        history,
        workflowId,
      ),
    ).rejects.toThrow();
  });
});
