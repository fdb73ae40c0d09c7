// The team's roles by name, for the screen that sets them (People). Who may do what is never decided here: projects,
// sessions and approvals carry what the server offers the caller (`offers`, read in offers.ts), and what needs no project
// follows the person's own role as /api/people/me says it.

export type Role = 'viewer' | 'operator' | 'approver' | 'owner';

export const ROLES: readonly Role[] = ['viewer', 'operator', 'approver', 'owner'];
