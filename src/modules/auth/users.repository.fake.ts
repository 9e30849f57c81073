import type { Role, User } from './user.entity';
import type { UserChanges, UsersRepository } from './users.repository';

/** UsersRepository in memory, for unit tests. */
export class FakeUsersRepository implements Pick<UsersRepository, keyof UsersRepository> {
  readonly rows = new Map<string, User>();

  /** An account `<id>@example.com` with the role user, created at `at`. */
  async add(id: string, at: Date, changes: Partial<User> = {}): Promise<User> {
    const user: User = {
      id,
      email: `${id}@example.com`,
      displayName: id,
      passwordHash: 'x',
      role: 'user',
      locale: null,
      timeZone: 'UTC',
      theme: 'system',
      disabledAt: null,
      createdAt: at,
      updatedAt: at,
      passwordChangedAt: at,
      ...changes,
    };
    await this.insert(user, () => user.role);
    return user;
  }

  async displayNames(ids: string[]): Promise<Map<string, string>> {
    return new Map(ids.flatMap((id) => (this.rows.has(id) ? [[id, this.rows.get(id)!.displayName] as [string, string]] : [])));
  }

  async findById(id: string): Promise<User | null> {
    const user = this.rows.get(id);
    return user ? { ...user } : null;
  }

  async findByEmail(email: string): Promise<User | null> {
    const user = [...this.rows.values()].find((u) => u.email === email);
    return user ? { ...user } : null;
  }

  async list(): Promise<User[]> {
    return [...this.rows.values()].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1)).map((u) => ({ ...u }));
  }

  async insert(user: User, roleFor: (first: boolean) => Role): Promise<boolean> {
    if ([...this.rows.values()].some((u) => u.email === user.email)) return false;
    user.role = roleFor(this.rows.size === 0);
    this.rows.set(user.id, { ...user });
    return true;
  }

  async update(id: string, changes: UserChanges): Promise<void> {
    const user = this.rows.get(id);
    if (user) Object.assign(user, changes);
  }
}
