import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { SecurityConfig } from '@kiroku/config';
import type { EntityManager } from 'typeorm';
import { AuditTrail } from '../audit';
import { randomToken, sha256 } from '../web';
import { AccountLink, AccountLinkKind } from './account-link.entity';
import { AccountLinksRepository } from './account-links.repository';
import { Accounts, ACCOUNT_FIELD_RULES, FieldErrors, normalizeEmail, SignInWith, unlessTaken } from './accounts.service';
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

/** The link was used or revoked by another request meanwhile (thrown inside a transaction, which it ends). */
class Spent extends Error {}

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
    const to = normalizeEmail(email);
    return this.audit.transaction(async (m, record) => {
      // A new invitation for the same address replaces the earlier unused one: one pending link per person.
      const { link, token, superseded } = await this.issueIn(
        m,
        'invite',
        { email: to },
        { kind: 'invite', email: to, userId: null },
        actorId,
        this.security.inviteTtlMs,
      );
      await record('invite.created', { actorId, ip, details: { linkId: link.id, expiresAt: link.expiresAt.toISOString(), superseded } });
      return { link, token };
    });
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
    const prepared = await this.accounts.prepare({ email: input.email, displayName: input.displayName, password: randomToken(32) }, input.role);
    if ('errors' in prepared) return prepared;
    const { user } = prepared;
    // The account, its password link and both events in one transaction: never an account nobody can get into.
    return unlessTaken(() =>
      this.audit.transaction(async (m, record) => {
        await this.accounts.insertIn(m, record, user, actorId);
        const issued = await this.issueIn(
          m,
          'invite',
          { email: user.email },
          { kind: 'reset', email: user.email, userId: user.id },
          actorId,
          this.security.inviteTtlMs,
        );
        await record('reset.created', { userId: user.id, actorId, ip, details: { linkId: issued.link.id, newAccount: true, superseded: issued.superseded } });
        return { user, link: issued.link, token: issued.token };
      }),
    );
  }

  /** A reset link for an enabled member (earlier unused ones are revoked), or null when there is no such member. */
  async issueReset(userId: string, actorId: string, ip: string | null): Promise<{ link: AccountLink; token: string; user: User } | null> {
    const user = await this.accounts.findById(userId);
    if (!user || user.disabledAt) return null;
    return this.audit.transaction(async (m, record) => {
      const { link, token, superseded } = await this.issueIn(
        m,
        'reset',
        { userId: user.id },
        { kind: 'reset', email: user.email, userId: user.id },
        actorId,
        RESET_TTL_MS,
      );
      await record('reset.created', { userId: user.id, actorId, ip, details: { linkId: link.id, superseded } });
      return { link, token, user };
    });
  }

  /**
   * In the caller's transaction: revokes the pending links of kind `supersedes` for `of` (one pending link per
   * person), and stores a new link with its secret's hash; the link, its secret (never stored), how many it replaced.
   */
  private async issueIn(
    m: EntityManager,
    supersedes: AccountLinkKind,
    of: { userId: string } | { email: string },
    to: Pick<AccountLink, 'kind' | 'email' | 'userId'>,
    actorId: string,
    ttlMs: number,
  ): Promise<{ link: AccountLink; token: string; superseded: number }> {
    const token = randomToken(32);
    const now = this.clock.now();
    const superseded = await this.links.revokePending(supersedes, of, now, m);
    const link: AccountLink = {
      id: randomUUID(),
      ...to,
      createdBy: actorId,
      tokenHash: sha256(token),
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttlMs),
      usedAt: null,
      revokedAt: null,
    };
    await this.links.insert(link, m);
    return { link, token, superseded };
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
    signIn?: SignInWith,
  ): Promise<{ user: User } | { errors: FieldErrors } | Gone> {
    const opened = await this.open('invite', token);
    if (!('link' in opened)) return opened;
    const { link } = opened;
    const prepared = await this.accounts.prepare({ email: link.email, ...input });
    if ('errors' in prepared) return prepared;
    const { user } = prepared;
    // The account, the invitation used up and both events: one transaction, so that a failure spends nothing. The
    // account first: it locks the users table on PostgreSQL before the link's row, the order an admin's new account
    // for the address takes too (the other order could deadlock the two).
    const created = await this.unlessSpent('invite', token, () =>
      unlessTaken(() =>
        this.audit.transaction(async (m, record) => {
          await this.accounts.insertIn(m, record, user);
          if (!(await this.links.claim(link.id, this.clock.now(), m))) throw new Spent();
          await this.links.setUser(link.id, user.id, m);
          await record('invite.used', { userId: user.id, actorId: link.createdBy, ip, details: { linkId: link.id } });
          await signIn?.(m, user);
          return { user };
        }),
      ),
    );
    if (!('errors' in created)) return created;
    // The address has an account now: made through this invitation a moment ago (it says so), or otherwise (the
    // invitation stays usable for nothing else, but is not spent on a refusal).
    const state = await this.open('invite', token);
    return 'gone' in state ? state : created;
  }

  /** Sets the member's new password, ends all their sessions and uses the link up. */
  async resetWith(token: unknown, password: string, ip: string | null, signIn?: SignInWith): Promise<{ user: User } | { errors: FieldErrors } | Gone> {
    const opened = await this.open('reset', token);
    if (!('link' in opened)) return opened;
    const { link } = opened;
    const user = link.userId ? await this.accounts.findById(link.userId) : null;
    // A member disabled after the link was issued cannot come back through it.
    if (!user || user.disabledAt) return { gone: 'revoked' };
    const problem = passwordProblem(password);
    if (problem) return { errors: { password: problem } };
    // The link used up with the new password, the sessions ended and both events: all of it or, on a failure, none.
    return this.unlessSpent('reset', token, async () => {
      await this.accounts.resetPassword(user.id, password, {
        before: async (m, record) => {
          if (!(await this.links.claim(link.id, this.clock.now(), m))) throw new Spent();
          await record('reset.used', { userId: user.id, actorId: link.createdBy, ip, details: { linkId: link.id } });
        },
        after: signIn && ((m) => signIn(m, user)),
      });
      return { user };
    });
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
    if (!link) return false;
    return this.audit.transaction(async (m, record) => {
      if (!(await this.links.revoke(link.id, this.clock.now(), m))) return false;
      await record(`${link.kind}.revoked`, { userId: link.userId, actorId, ip, details: { linkId: link.id } });
      return true;
    });
  }

  /** `fn`'s result, or why the link no longer works when `fn` found it claimed by another request (Spent). */
  private async unlessSpent<T>(kind: AccountLinkKind, token: unknown, fn: () => Promise<T>): Promise<T | Gone> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof Spent) return this.spent(kind, token);
      throw error;
    }
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
