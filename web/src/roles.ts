// What the caller's role lets them do, so the app offers only that. The server decides (src/PocketCoder/Auth/RouteAccess.cs,
// and the project's team policy for each approval); these mirror it so that a viewer is not shown a button the server
// would refuse. Pure functions: the role comes from /api/people/me, kept in the store.

import { createContext } from 'preact';
import type { Person } from './api';

export type Role = 'viewer' | 'operator' | 'approver' | 'owner';

/**
 * RouteAccess's kinds of access: `read` (sessions, files, the ledger, the team), `steer` (start, message and stop
 * sessions, backlog, git, files), `decide` (reach an approval; the policy then says who decides it), `shell` (commands
 * and the terminal of one's own), `own` (people, rules, MCP servers, profiles, project settings, sandbox, bridges, folders).
 */
export type Action = 'read' | 'steer' | 'decide' | 'shell' | 'own';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, approver: 2, owner: 3 };
const LEAST: Record<Action, Role> = { read: 'viewer', steer: 'operator', decide: 'operator', shell: 'approver', own: 'owner' };

export const ROLES: readonly Role[] = ['viewer', 'operator', 'approver', 'owner'];

/** A wire role, or viewer for anything else (the server's own reading of a person it does not know). */
export const asRole = (role: string | null | undefined): Role => (ROLES.includes(role as Role) ? (role as Role) : 'viewer');

export const atLeast = (role: Role, least: Role): boolean => RANK[role] >= RANK[least];

export const can = (role: Role, action: Action): boolean => atLeast(role, LEAST[action]);

/** The person's role in a project: a membership narrows it there (never widens; owners are owners everywhere). */
export function roleIn(person: Pick<Person, 'role' | 'projects'>, projectId?: string): Role {
  const own = asRole(person.role);
  const member = projectId ? person.projects.find((m) => m.projectId === projectId) : undefined;
  if (own === 'owner' || !member) return own;
  const narrowed = asRole(member.role);
  return atLeast(own, narrowed) ? narrowed : own;
}

/**
 * The caller's role where a screen shows it, or undefined while /api/people/me is not known (then everything is offered,
 * as before teams, and the server refuses what it must).
 */
export const CallerRole = createContext<{ role?: Role; name?: string }>({});

/** "approvers and owners": a role and those above it, as the server words them. */
export function andAbove(role: Role): string {
  switch (role) {
    case 'owner': return 'owners';
    case 'approver': return 'approvers and owners';
    case 'operator': return 'operators, approvers and owners';
    default: return 'everyone';
  }
}

/** What an approval needs to know about itself to say who may decide it how. */
export interface TeamCall { risk?: string; deciderRole?: string; needed?: number; allowedBy?: string[] }

/** Which of a card's decisions the caller may make (Gatekeeper.Refusal, in the app). */
export interface Offer { decide: boolean; allowOnce: boolean; allowSession: boolean; allowAlways: boolean; edit: boolean }

/** `role` undefined: not known yet, everything is offered. `name`: the caller's, to know whether they allowed already. */
export function offerFor(call: TeamCall, role?: Role, name?: string): Offer {
  const decide = role === undefined || atLeast(role, asRole(call.deciderRole ?? 'approver'));
  const twoPerson = (call.needed ?? 1) > 1;
  const budget = call.risk === 'budget';
  const allowedAlready = name !== undefined && (call.allowedBy ?? []).includes(name);
  return {
    decide,
    allowOnce: decide && !allowedAlready,
    // A grant or a rule would let one person allow the next such call; a budget is raised one step at a time.
    allowSession: decide && !twoPerson && !budget,
    allowAlways: decide && !twoPerson && !budget && (role === undefined || role === 'owner'),
    edit: decide && !twoPerson && !budget,
  };
}
