import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import {
  REQUEST_MESSAGE_NAMES,
  type ApprovalDecisionInput,
  type CancelNoteInput,
  type ApprovalOutcome,
  type StreamDelta,
  type StreamView,
} from '../domain/request-messages';
import type { RequestProgress } from '../domain/step-contracts';

export const progressQuery = defineQuery<RequestProgress>(REQUEST_MESSAGE_NAMES.progressQuery);
export const streamQuery = defineQuery<StreamView>(REQUEST_MESSAGE_NAMES.streamQuery);
export const streamDeltaSignal = defineSignal<[StreamDelta]>(REQUEST_MESSAGE_NAMES.streamDeltaSignal);
export const approveUpdate = defineUpdate<ApprovalOutcome, [ApprovalDecisionInput]>(
  REQUEST_MESSAGE_NAMES.approveUpdate,
);
export const denyUpdate = defineUpdate<ApprovalOutcome, [ApprovalDecisionInput]>(
  REQUEST_MESSAGE_NAMES.denyUpdate,
);
export const cancelNoteSignal = defineSignal<[CancelNoteInput]>(REQUEST_MESSAGE_NAMES.cancelNoteSignal);
