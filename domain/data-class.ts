import { z } from 'zod';

/** From least to most sensitive. Routes and documents declare which classes they may carry. */
export const DATA_CLASSES = ['public', 'internal', 'confidential', 'restricted'] as const;
export const dataClassSchema = z.enum(DATA_CLASSES);
export type DataClass = (typeof DATA_CLASSES)[number];

const DATA_CLASS_RANK: Record<DataClass, number> = { public: 0, internal: 1, confidential: 2, restricted: 3 };

/** True when someone cleared for `clearance` may see data classified `classification`. */
export function isClearedFor(clearance: DataClass, classification: DataClass): boolean {
  return DATA_CLASS_RANK[clearance] >= DATA_CLASS_RANK[classification];
}

/** The classes a principal with `clearance` may read, least sensitive first. */
export function dataClassesUpTo(clearance: DataClass): DataClass[] {
  return DATA_CLASSES.slice(0, DATA_CLASS_RANK[clearance] + 1);
}

/** The most sensitive of the given classes; `public` for none. */
export function strictestDataClass(classes: Iterable<DataClass>): DataClass {
  let strictest: DataClass = 'public';
  for (const dataClass of classes) {
    if (DATA_CLASS_RANK[dataClass] > DATA_CLASS_RANK[strictest]) strictest = dataClass;
  }
  return strictest;
}
