import { hash } from 'node:crypto';
import { type Actor, canonicalJson } from '../core/index.ts';
import type { AuditRecord } from '../store/index.ts';

/**
 * The audit chain: every state change appends a record whose hash covers the previous record's hash and
 * the RFC 8785 canonical JSON of its own fields, so changing, removing or reordering any stored record
 * breaks every link after it. `verifyChain` walks the chain and names the first record that does not fit.
 */
export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEvent {
  actor: Actor;
  action: string;
  /** What changed, as "kind:id" (case:…, alert:…, observable:…). */
  target: string;
  details: Record<string, unknown>;
}

/** The JSON that is hashed and exported: exactly the stored fields except the hash itself. */
export function auditPayload(record: Omit<AuditRecord, 'hash'>): Record<string, unknown> {
  return {
    seq: record.seq,
    time: new Date(record.at).toISOString(),
    actor: record.actor,
    action: record.action,
    target: record.target,
    details: record.details,
    prev_hash: record.prevHash,
  };
}

export function auditHash(record: Omit<AuditRecord, 'hash'>): string {
  // One-shot hash of the concatenation: the same digest as update(prev).update(json), without a Hash object.
  return hash('sha256', record.prevHash + canonicalJson(auditPayload(record)), 'hex');
}

/** Chains events after `head`; the caller stores the result in the same transaction that read the head. */
export function chainEvents(head: { seq: number; hash: string } | undefined, events: readonly AuditEvent[], at: number): AuditRecord[] {
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  return events.map((event) => {
    seq += 1;
    // Details are plain JSON data (no Dates, no undefined in arrays): canonicalJson sees exactly what the
    // store will hand back, so verification recomputes the same hash.
    const unsigned = { seq, at, actor: event.actor as Actor, action: event.action, target: event.target, details: event.details ?? {}, prevHash };
    const hash = auditHash(unsigned);
    prevHash = hash;
    return { ...unsigned, hash };
  });
}

export interface ChainVerification {
  ok: boolean;
  records: number;
  head: { seq: number; hash: string } | null;
  /** The first record that breaks the chain, and why. */
  broken?: { seq: number; reason: string };
}

/** Checks records streamed in seq order; `next` pages through the store. */
export async function verifyChain(next: (afterSeq: number) => Promise<AuditRecord[]>): Promise<ChainVerification> {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let records = 0;
  let head: { seq: number; hash: string } | null = null;
  for (;;) {
    const page = await next(expectedSeq - 1);
    if (page.length === 0) break;
    for (const record of page) {
      if (record.seq !== expectedSeq) {
        return { ok: false, records, head, broken: { seq: expectedSeq, reason: `record ${expectedSeq} is missing (the next stored record is ${record.seq})` } };
      }
      if (record.prevHash !== prevHash) {
        return { ok: false, records, head, broken: { seq: record.seq, reason: `prev_hash does not match the hash of record ${record.seq - 1}` } };
      }
      const computed = auditHash(record);
      if (computed !== record.hash) {
        return {
          ok: false,
          records,
          head,
          broken: { seq: record.seq, reason: `hash does not match its contents (stored ${record.hash.slice(0, 12)}…, computed ${computed.slice(0, 12)}…)` },
        };
      }
      prevHash = record.hash;
      head = { seq: record.seq, hash: record.hash };
      expectedSeq++;
      records++;
    }
  }
  return { ok: true, records, head };
}
