import { BadRequestException, ForbiddenException, NotFoundException } from '@nestjs/common';
import { MAX_MEMBERS } from './conversations.dto';
import { planAdd, planRemove } from './membership-rules';

const state = { adminId: 'admin', memberIds: ['admin', 'early', 'late'] };

describe('planAdd', () => {
  it('adds only users not already in, once each', () => {
    expect(planAdd(state, 'admin', ['late', 'new', 'new'])).toEqual({ added: ['new'], removed: [], adminId: 'admin' });
  });

  it('is a no-op when everyone named is already a member', () => {
    expect(planAdd(state, 'admin', ['early']).added).toEqual([]);
  });

  it('refuses members who are not the admin with 403, outsiders with 404', () => {
    expect(() => planAdd(state, 'early', ['new'])).toThrow(ForbiddenException);
    expect(() => planAdd(state, 'outsider', ['new'])).toThrow(NotFoundException);
  });

  it('keeps MAX_MEMBERS', () => {
    const full = {
      adminId: 'admin',
      memberIds: ['admin', ...Array.from({ length: MAX_MEMBERS - 2 }, (_, i) => `m${i}`)],
    };
    expect(planAdd(full, 'admin', ['a']).added).toEqual(['a']);
    expect(() => planAdd(full, 'admin', ['a', 'b'])).toThrow(BadRequestException);
  });
});

describe('planRemove', () => {
  it('lets any member leave and the admin remove anyone', () => {
    expect(planRemove(state, 'late', 'late')).toEqual({ added: [], removed: ['late'], adminId: 'admin' });
    expect(planRemove(state, 'admin', 'early').removed).toEqual(['early']);
  });

  it('refuses a member removing someone else (the admin included) with 403', () => {
    expect(() => planRemove(state, 'early', 'late')).toThrow(ForbiddenException);
    expect(() => planRemove(state, 'early', 'admin')).toThrow(ForbiddenException);
  });

  it('answers 404 to outsiders and for users who are not members', () => {
    expect(() => planRemove(state, 'outsider', 'early')).toThrow(NotFoundException);
    expect(() => planRemove(state, 'admin', 'outsider')).toThrow(NotFoundException);
  });

  it('hands the admin role to the longest-standing member when the admin leaves, to nobody when nobody is left', () => {
    expect(planRemove(state, 'admin', 'admin')).toEqual({ added: [], removed: ['admin'], adminId: 'early' });
    expect(planRemove({ adminId: 'admin', memberIds: ['admin'] }, 'admin', 'admin').adminId).toBeNull();
  });
});
