export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  goal?: string;
  /** Why the figure could not be measured (the row is printed as failed, and the bench goes on). */
  failed?: string;
}
