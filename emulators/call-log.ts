/**
 * The calls an emulator received, in order, for tests and benchmarks to read back: every call, or how
 * many went to one model and operation.
 */
export class CallLog<Call extends { operation: string }> {
  private readonly entries: Call[] = [];

  constructor(private readonly modelOf: (call: Call) => string) {}

  record(call: Call): void {
    this.entries.push(call);
  }

  all(): Call[] {
    return [...this.entries];
  }

  count(model?: string, operation?: Call['operation']): number {
    return this.entries.filter(
      (call) =>
        (model === undefined || this.modelOf(call) === model) &&
        (operation === undefined || call.operation === operation),
    ).length;
  }

  clear(): void {
    this.entries.length = 0;
  }
}
