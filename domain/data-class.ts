import { z } from 'zod';

/** How sensitive a request's data is; routes and documents declare which classes they may carry. */
export const dataClassSchema = z.enum(['public', 'internal', 'confidential', 'restricted']);
export type DataClass = z.infer<typeof dataClassSchema>;

const DATA_CLASS_RANK: Record<DataClass, number> = { public: 0, internal: 1, confidential: 2, restricted: 3 };

/** True when someone cleared for `clearance` may see data classified `classification`. */
export function isClearedFor(clearance: DataClass, classification: DataClass): boolean {
  return DATA_CLASS_RANK[clearance] >= DATA_CLASS_RANK[classification];
}
