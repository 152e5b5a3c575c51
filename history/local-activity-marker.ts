import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/** What a local activity leaves in history: one marker with its type and, when it completed, its result. */
export interface LocalActivityMarker {
  activityType: string;
  /** The result's payloads (encoded with the data converter), absent for a failed or cancelled one. */
  result?: temporal.api.common.v1.IPayload[];
}

/** The local activity a marker event records, or undefined for any other event. */
export function localActivityMarkerOf(event: HistoryEvent): LocalActivityMarker | undefined {
  const marker = event.markerRecordedEventAttributes;
  if (marker?.markerName !== LOCAL_ACTIVITY_MARKER) return undefined;
  const data = marker.details?.['data']?.payloads?.[0]?.data;
  if (!data) return undefined;
  let activityType: unknown;
  try {
    activityType = (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: unknown })
      .activity_type;
  } catch {
    return undefined;
  }
  if (typeof activityType !== 'string') return undefined;
  const result = marker.failure ? undefined : marker.details?.['result']?.payloads;
  return { activityType, ...(result && result.length > 0 ? { result } : {}) };
}
