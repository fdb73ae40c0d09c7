// The dashboard: every session's status and every pending approval, from /api/events on top of a REST snapshot; and what
// the approvals list (GET /api/approvals) says of a pending card that the events cannot.

import type { ApprovalOffers, Session, SessionMode, SessionStatus } from './api';
import type { ApprovalView, ServerEvent, SessionView } from './events';

const str = (v: unknown): string => (typeof v === 'string' ? v : v == null ? '' : String(v));

/**
 * The team's part of an approval as GET /api/approvals lists it (a pending one; the events may predate it), with what the
 * caller may do with it (`offers`), which only that list says.
 */
export type ListedTeamState = { id: string; risk: string; deciderRole: string; needed: number; allowedBy: string[]; offers?: ApprovalOffers | null };

/**
 * Pending cards with who may decide, who has allowed and what the caller may do as the approvals list says: the list is
 * read now, while the events may have been replayed from an older copy or be missing the votes. The one with more allows
 * is the newer; the offers are the list's alone.
 */
export function withListed(view: SessionView, listed: readonly ListedTeamState[]): SessionView {
  if (listed.length === 0) return view;
  const byId = new Map(listed.map((l) => [l.id, l]));
  let changed = false;
  const items = view.items.map((item) => {
    const l = item.type === 'approval' && item.approval.status === 'pending' ? byId.get(item.approval.approvalId) : undefined;
    if (!l || item.type !== 'approval') return item;
    const a = item.approval;
    const allowedBy = l.allowedBy.length > (a.allowedBy ?? []).length ? l.allowedBy : a.allowedBy;
    const offers = l.offers ?? a.offers;
    if (a.risk === l.risk && a.deciderRole === l.deciderRole && a.needed === l.needed && allowedBy === a.allowedBy && offers === a.offers) return item;
    changed = true;
    return { ...item, approval: { ...a, risk: l.risk, deciderRole: l.deciderRole, needed: l.needed, allowedBy, offers } };
  });
  return changed ? { ...view, items } : view;
}

export const pendingApprovals = (view: SessionView): ApprovalView[] =>
  view.items.flatMap((i) => (i.type === 'approval' && i.approval.status === 'pending' ? [i.approval] : []));

/** A pending approval on the dashboard; `listed` once the approvals list has said what it is and what the caller may do with it. */
export interface PendingRef { approvalId: string; sessionId: string; createdAt: string; listed?: ListedTeamState }
export interface Dashboard { sessions: Record<string, Session>; pending: Record<string, PendingRef> }

export function reduceDashboard(board: Dashboard, event: ServerEvent): Dashboard {
  const d = event.data;
  switch (event.kind) {
    case 'session.status': {
      const session = board.sessions[d.sessionId];
      if (!session) return board;
      const status = str(d.status) as SessionStatus;
      const mode = str(d.mode) as SessionMode;
      // Archiving is told as a status event with that reason: the session leaves (or rejoins) the lists.
      const archivedAt = d.reason === 'archived' ? session.archivedAt ?? new Date().toISOString() : d.reason === 'unarchived' ? null : session.archivedAt;
      if (session.status === status && session.mode === mode && session.lastSeq >= d.seq && archivedAt === session.archivedAt) return board;
      return { ...board, sessions: { ...board.sessions, [d.sessionId]: { ...session, status, mode: mode || session.mode, archivedAt, lastSeq: Math.max(session.lastSeq, d.seq) } } };
    }
    case 'approval.requested': {
      const approvalId = str(d.approvalId);
      if (board.pending[approvalId]) return board;
      return { ...board, pending: { ...board.pending, [approvalId]: { approvalId, sessionId: d.sessionId, createdAt: str(d.createdAt) } } };
    }
    case 'approval.resolved': {
      const approvalId = str(d.approvalId);
      if (!board.pending[approvalId]) return board;
      const pending = { ...board.pending };
      delete pending[approvalId];
      return { ...board, pending };
    }
    default:
      return board;
  }
}
