import type { NotificationKind } from './alert-notification.entity';
import type { AlertStatus } from './alert.entity';

/** The part of an open alert the state machine reads and writes. */
export interface AlertState {
  status: Exclude<AlertStatus, 'resolved'> | 'resolved';
  pendingSince: number;
  firedAt: number | null;
  clearSince: number | null;
  resolvedAt: number | null;
  lastNotifiedAt: number | null;
}

export interface Timing {
  pendingMs: number;
  recoveryMs: number;
  reminderMs: number;
}

export interface Step {
  /** The alert after this evaluation; null when a pending alert's condition went away before it fired (forgotten). */
  next: AlertState | null;
  notify?: NotificationKind;
}

/**
 * One evaluation of one alert (rule and subject) at `now`, given whether its
 * condition holds. Pure, so that every timing rule is tested with plain
 * numbers:
 * - a condition must hold for `pendingMs` before the alert fires (a single
 *   bad sample never pages); a pending alert whose condition clears is dropped;
 * - a firing alert notifies once, then reminds every `reminderMs`;
 * - it resolves (and says so once) only after its condition has been clear for
 *   `recoveryMs`; the condition returning meanwhile keeps it firing, with no
 *   new notification (no flapping).
 */
export function step(current: AlertState | null, holds: boolean, now: number, t: Timing): Step {
  if (!current || current.status === 'resolved') {
    if (!holds) return { next: current };
    return step({ status: 'pending', pendingSince: now, firedAt: null, clearSince: null, resolvedAt: null, lastNotifiedAt: null }, true, now, t);
  }
  if (current.status === 'pending') {
    if (!holds) return { next: null };
    if (now - current.pendingSince < t.pendingMs) return { next: current };
    return { next: { ...current, status: 'firing', firedAt: now, lastNotifiedAt: now }, notify: 'firing' };
  }
  // firing
  if (holds) {
    const cleared = current.clearSince !== null ? { ...current, clearSince: null } : current;
    if (now - (current.lastNotifiedAt ?? current.firedAt ?? now) >= t.reminderMs) return { next: { ...cleared, lastNotifiedAt: now }, notify: 'reminder' };
    return { next: cleared };
  }
  const clearSince = current.clearSince ?? now;
  if (now - clearSince >= t.recoveryMs)
    return { next: { ...current, status: 'resolved', clearSince, resolvedAt: now, lastNotifiedAt: now }, notify: 'resolved' };
  return { next: current.clearSince === null ? { ...current, clearSince } : current };
}
