import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { SecurityConfig } from '@kiroku/config';
import { AuditTrail } from '../audit';
import { randomToken, sha256 } from '../web';
import { AccountLink, AccountLinkKind } from './account-link.entity';
import { AccountLinksRepository } from './account-links.repository';
import { accountProblems, Accounts, ACCOUNT_FIELD_RULES, FieldErrors, normalizeEmail } from './accounts.service';
import { passwordProblem } from './passwords';
import { Role, User } from './user.entity';

/** A password-reset link works this long: long enough to pass on by chat, short enough to be useless later. */
export const RESET_TTL_MS = 3_600_000;

/** How many links the users page lists (newest first). */
const LISTED = 100;

export type LinkState = 'pending' | 'used' | 'expired' | 'revoked';

/** A link as the users page lists it: never its secret, which is not stored. */
export interface ListedLink {
  id: string;
  kind: AccountLinkKind;
  email: string;
  userId: string | null;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  state: LinkState;
}

/** What an opened link is: pending (with its row), or why it no longer works (`unknown`: no such link). */
export type Gone = { gone: Exclude<LinkState, 'pending'> | 'unknown' };
export type Opened = { link: AccountLink } | Gone;

/** A link's secret: 256 random bits, URL-safe. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Invitations and password-reset links. An admin issues one; its secret is shown once (the caller carries it to the
 * page in a sealed cookie) and stored only as a SHA-256; it works once, until it expires or is revoked. An invitation
 * creates an account whatever REGISTRATION says; a reset link sets a new password and ends every session of the
 * member. Every step is audited.
 */
@Injectable()
export class AccountLinks {
  constructor(
    private readonly links: AccountLinksRepository,
    private readonly accounts: Accounts,
    private readonly clock: Clock,
    private readonly security: SecurityConfig,
    private readonly audit: AuditTrail,
  ) {}

  /**
   * Invites an address that has no account yet (an earlier unused invitation for it is revoked): the new link and its
   * secret, or the problem with the address.
   */
  async invite(email: string, actorId: string, ip: string | null): Promise<{ link: AccountLink; token: string } | { errors: FieldErrors }> {
    const problem = ACCOUNT_FIELD_RULES.email(email);
    if (problem) return { errors: { email: problem } };
    if (await this.accounts.findByEmail(email)) return { errors: { email: 'admin.invite.emailTaken' } };
    // A new invitation for the same address replaces the earlier unused one: one pending link per person.
    const superseded = await this.links.revokePending('invite', { email: normalizeEmail(email) }, this.clock.now());
    const { link, token } = await this.issue('invite', normalizeEmail(email), null, actorId, this.security.inviteTtlMs);
    await this.audit.record('invite.created', { actorId, ip, details: { linkId: link.id, expiresAt: link.expiresAt.toISOString(), superseded } });
    return { link, token };
  }

  /**
   * An account an admin creates for someone, with the name and role given, and a password link (a reset link that
   * works as long as an invitation) with which the person chooses their password: nobody knows the one it is
   * created with, so nobody can sign in to it until then. A pending invitation for the address goes.
   */
  async createAccount(
    input: { email: string; displayName: string; role: Role },
    actorId: string,
    ip: string | null,
  ): Promise<{ user: User; link: AccountLink; token: string } | { errors: FieldErrors }> {
    const created = await this.accounts.create({ email: input.email, displayName: input.displayName, password: randomToken(32) }, input.role, actorId);
    if ('errors' in created) return { errors: created.errors };
    const { user } = created;
    const now = this.clock.now();
    const superseded = await this.links.revokePending('invite', { email: user.email }, now);
    const { link, token } = await this.issue('reset', user.email, user.id, actorId, this.security.inviteTtlMs);
    await this.audit.record('reset.created', { userId: user.id, actorId, ip, details: { linkId: link.id, newAccount: true, superseded } });
    return { user, link, token };
  }

  /** A reset link for an enabled member (earlier unused ones are revoked), or null when there is no such member. */
  async issueReset(userId: string, actorId: string, ip: string | null): Promise<{ link: AccountLink; token: string; user: User } | null> {
    const user = await this.accounts.findById(userId);
    if (!user || user.disabledAt) return null;
    const superseded = await this.links.revokePending('reset', { userId: user.id }, this.clock.now());
    const { link, token } = await this.issue('reset', user.email, user.id, actorId, RESET_TTL_MS);
    await this.audit.record('reset.created', { userId: user.id, actorId, ip, details: { linkId: link.id, superseded } });
    return { link, token, user };
  }

  private async issue(kind: AccountLinkKind, email: string, userId: string | null, actorId: string, ttlMs: number) {
    const token = randomToken(32);
    const now = this.clock.now();
    const link: AccountLink = {
      id: randomUUID(),
      kind,
      email,
      userId,
      createdBy: actorId,
      tokenHash: sha256(token),
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttlMs),
      usedAt: null,
      revokedAt: null,
    };
    await this.links.insert(link);
    return { link, token };
  }

  /** The link behind a secret, if it is of this kind and still works. */
  async open(kind: AccountLinkKind, token: unknown): Promise<Opened> {
    const link = typeof token === 'string' && TOKEN.test(token) ? await this.links.findByHash(sha256(token)) : null;
    if (!link || link.kind !== kind) return { gone: 'unknown' };
    const state = this.stateOf(link);
    return state === 'pending' ? { link } : { gone: state };
  }

  /** Creates the invited account (the invitation's email, the name and password given) and uses the invitation up. */
  async acceptInvite(
    token: unknown,
    input: { displayName: string; password: string },
    ip: string | null,
  ): Promise<{ user: User } | { errors: FieldErrors } | Gone> {
    const opened = await this.open('invite', token);
    if (!('link' in opened)) return opened;
    const { link } = opened;
    const errors = accountProblems({ email: link.email, ...input });
    if (Object.keys(errors).length) return { errors };
    if (!(await this.links.claim(link.id, this.clock.now()))) return this.spent('invite', token);
    const created = await this.accounts.create({ email: link.email, ...input });
    if ('errors' in created) {
      // Someone took the address meanwhile: the invitation stays usable for nothing else, but is not spent on a refusal.
      await this.links.release(link.id);
      return created;
    }
    await this.links.setUser(link.id, created.user.id);
    await this.audit.record('invite.used', { userId: created.user.id, actorId: link.createdBy, ip, details: { linkId: link.id } });
    return created;
  }

  /** Sets the member's new password, ends all their sessions and uses the link up. */
  async resetWith(token: unknown, password: string, ip: string | null): Promise<{ user: User } | { errors: FieldErrors } | Gone> {
    const opened = await this.open('reset', token);
    if (!('link' in opened)) return opened;
    const { link } = opened;
    const user = link.userId ? await this.accounts.findById(link.userId) : null;
    // A member disabled after the link was issued cannot come back through it.
    if (!user || user.disabledAt) return { gone: 'revoked' };
    const problem = passwordProblem(password);
    if (problem) return { errors: { password: problem } };
    if (!(await this.links.claim(link.id, this.clock.now()))) return this.spent('reset', token);
    await this.accounts.resetPassword(user.id, password);
    await this.audit.record('reset.used', { userId: user.id, actorId: link.createdBy, ip, details: { linkId: link.id } });
    return { user };
  }

  async list(): Promise<ListedLink[]> {
    return (await this.links.list(LISTED)).map((l) => ({
      id: l.id,
      kind: l.kind,
      email: l.email,
      userId: l.userId,
      createdAt: l.createdAt,
      expiresAt: l.expiresAt,
      usedAt: l.usedAt,
      state: this.stateOf(l),
    }));
  }

  /** Revokes a pending link; false when there is none by that id. */
  async revoke(id: string, actorId: string, ip: string | null): Promise<boolean> {
    const link = await this.links.findById(id);
    if (!link || !(await this.links.revoke(link.id, this.clock.now()))) return false;
    await this.audit.record(`${link.kind}.revoked`, { userId: link.userId, actorId, ip, details: { linkId: link.id } });
    return true;
  }

  /** Why a link that could not be claimed no longer works (used by another request a moment ago, most likely). */
  private async spent(kind: AccountLinkKind, token: unknown): Promise<Gone> {
    const opened = await this.open(kind, token);
    return 'gone' in opened ? opened : { gone: 'used' };
  }

  private stateOf(link: AccountLink): LinkState {
    if (link.usedAt) return 'used';
    if (link.revokedAt) return 'revoked';
    return link.expiresAt.getTime() <= this.clock.nowMs() ? 'expired' : 'pending';
  }
}
