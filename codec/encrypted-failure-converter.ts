/**
 * Loaded by path into the workflow sandbox as well as by clients and workers (Temporal's
 * `failureConverterPath`), so it imports nothing but `@temporalio/common`.
 *
 * Failure messages and stack traces often quote what failed — a question, a document, a model's
 * answer. `encodeCommonAttributes` moves both into an encoded attributes payload, which the payload
 * codec then encrypts like any other; history keeps only the failure's type and the placeholder
 * message "Encoded failure".
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
