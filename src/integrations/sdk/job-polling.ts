import { RiposteError } from '../../core/index.ts';
import { abortableSleep } from './token-bucket.ts';

/**
 * Vendors run long work as jobs (a Splunk search, a sandbox detonation, a VirusTotal URL scan): submit,
 * then poll until the job is done. This polls with growing intervals until `check` reports a terminal
 * state or the deadline passes; a failed job and a deadline are clear errors, not hangs.
 */
export type JobState<R> = { done: false; progress?: number } | { done: true; result: R } | { failed: true; reason: string };

export interface PollOptions<R> {
  submit(): Promise<string>;
  check(jobId: string): Promise<JobState<R>>;
  /** Give up after this long (default 5 minutes). */
  deadlineMs?: number;
  initialIntervalMs?: number;
  maxIntervalMs?: number;
  signal?: AbortSignal;
  vendor: string;
  now?: () => number;
}

export async function runJob<R>(options: PollOptions<R>): Promise<{ jobId: string; result: R; polls: number }> {
  const now = options.now ?? Date.now;
  const deadline = now() + (options.deadlineMs ?? 300_000);
  const jobId = await options.submit();
  let interval = options.initialIntervalMs ?? 500;
  for (let polls = 1; ; polls++) {
    const state = await options.check(jobId);
    if ('failed' in state)
      throw new RiposteError('integration.job_failed', `${options.vendor} job ${jobId} failed: ${state.reason}`, { details: { job_id: jobId } });
    if (state.done) return { jobId, result: state.result, polls };
    const left = deadline - now();
    if (left <= 0)
      throw new RiposteError('integration.timeout', `${options.vendor} job ${jobId} did not finish before the deadline`, {
        retryable: true,
        status: 504,
        details: { job_id: jobId, polls },
      });
    await abortableSleep(Math.min(interval, left), options.signal);
    interval = Math.min(options.maxIntervalMs ?? 10_000, Math.round(interval * 1.5));
  }
}
