import { describe, expect, it } from 'vitest';
import { can, offerFor, roleIn, type Action, type Role } from './roles';

describe('can', () => {
  // RouteAccess.cs: reading is everyone's, steering an operator's, a shell of one's own an approver's, the rest the owners'.
  const table: Record<Role, Action[]> = {
    viewer: ['read'],
    operator: ['read', 'steer', 'decide'],
    approver: ['read', 'steer', 'decide', 'shell'],
    owner: ['read', 'steer', 'decide', 'shell', 'own'],
  };
  for (const [role, allowed] of Object.entries(table) as [Role, Action[]][]) {
    it(`lets ${role} do ${allowed.join(', ')} and nothing more`, () => {
      for (const action of ['read', 'steer', 'decide', 'shell', 'own'] as Action[]) expect(can(role, action)).toBe(allowed.includes(action));
    });
  }
});

describe('roleIn', () => {
  const person = (role: string, narrowed?: string) => ({ role, projects: narrowed ? [{ projectId: 'p1', personId: 'x', role: narrowed }] : [] });

  it('narrows a role in the project that names it, never widens it, and leaves owners owners', () => {
    expect(roleIn(person('approver', 'viewer'), 'p1')).toBe('viewer');
    expect(roleIn(person('approver', 'viewer'), 'p2')).toBe('approver');
    expect(roleIn(person('operator', 'approver'), 'p1')).toBe('operator');
    expect(roleIn(person('owner', 'viewer'), 'p1')).toBe('owner');
  });

  it('reads an unknown role as a viewer, as the server does', () => {
    expect(roleIn(person('root'))).toBe('viewer');
  });
});

describe('offerFor', () => {
  const shell = { risk: 'shell', deciderRole: 'approver', needed: 1, allowedBy: [] };

  it('offers a viewer nothing, and an operator nothing on a call approvers decide', () => {
    expect(offerFor(shell, 'viewer').decide).toBe(false);
    expect(offerFor(shell, 'operator').decide).toBe(false);
    expect(offerFor({ ...shell, deciderRole: 'operator' }, 'operator').allowOnce).toBe(true);
  });

  it('keeps "Always allow" (a rule) for owners', () => {
    expect(offerFor(shell, 'approver')).toMatchObject({ allowOnce: true, allowSession: true, allowAlways: false });
    expect(offerFor(shell, 'owner').allowAlways).toBe(true);
  });

  it('offers a two-person call only once, as asked, and not again to who allowed it', () => {
    const two = { ...shell, needed: 2, allowedBy: ['Ada'] };
    expect(offerFor(two, 'owner', 'Bo')).toEqual({ decide: true, allowOnce: true, allowSession: false, allowAlways: false, edit: false });
    expect(offerFor(two, 'approver', 'Ada')).toMatchObject({ decide: true, allowOnce: false });
  });

  it('raises a budget one step at a time', () => {
    expect(offerFor({ risk: 'budget', deciderRole: 'approver', needed: 1 }, 'owner')).toMatchObject({ allowOnce: true, allowSession: false, allowAlways: false });
  });

  it('offers everything while the role is not known yet: the server still refuses', () => {
    expect(offerFor(shell)).toEqual({ decide: true, allowOnce: true, allowSession: true, allowAlways: true, edit: true });
  });
});
