import { SetMetadata } from '@nestjs/common';

/** Who may call a route. Every route must say; the access guard refuses routes that do not. */
export type AccessLevel = 'public' | 'user' | 'admin';
export const ACCESS_KEY = 'kiroku:access';

export const Access = (level: AccessLevel) => SetMetadata(ACCESS_KEY, level);
export const Public = () => Access('public');
export const SignedIn = () => Access('user');
export const AdminOnly = () => Access('admin');
