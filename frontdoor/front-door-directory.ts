import type { TaskModel } from './task-models';

/** The principal an API key belongs to, as the front door needs it. */
export interface KeyHolder {
  principalId: string;
  tenantId: string;
  /** One-way handle of the key: what rate limits and logs name, never the key. */
  keyId: string;
  capabilities: string[];
  /** False when the principal's tenant is suspended: its keys are refused with 403. */
  tenantActive: boolean;
}

/**
 * What the front door reads from the store, behind one small interface so the HTTP layer imports no
 * store code (client/front-door-store-directory.ts is the real one; tests may pass a fake).
 */
export interface FrontDoorDirectory {
  /** The active principal holding this raw key, in whichever tenant; undefined for unknown or disabled keys. */
  findKeyHolder(apiKey: string): Promise<KeyHolder | undefined>;
  /** The task types the holder may request, as models, with the routes each may use. */
  taskModels(holder: KeyHolder): Promise<TaskModel[]>;
}
